// Package store keeps fngate's shared state in Redis: the route table,
// invocation records and idempotency keys. It is one implementation of the
// store interfaces its consumers define (the gateway's RouteStore,
// InvocationStore and IdempotencyStore, the worker's RecordStore); the
// types those interfaces speak are in package record (and route), so that
// consumers link no Redis client, and package storetest holds the
// conformance suite every implementation passes.
//
// Routes live in one hash, keyed by route ID, beside a version counter. Every
// change runs as one Lua script that also bumps the version and publishes it
// on a channel, so gateways learn of changes at once and a gateway that
// missed a message heals on its next version check. All keys share the hash
// tag {fngate}, so the store also works on Redis Cluster.
package store
