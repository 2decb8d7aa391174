// Package store keeps fngate's shared route table in Redis.
//
// Routes live in one hash, keyed by route ID, beside a version counter. Every
// change runs as one Lua script that also bumps the version and publishes it
// on a channel, so gateways learn of changes at once and a gateway that
// missed a message heals on its next version check. All keys share the hash
// tag {fngate}, so the store also works on Redis Cluster.
package store
