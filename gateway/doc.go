// Package gateway is fngate's HTTP front door.
//
// For each request it matches a (domain, trigger path) route from an
// in-memory [route.Table], turns the request into a CloudBase-style event,
// sends it on the function's NATS subject with request-reply, and writes the
// worker's reply as the HTTP response. Routes live in Redis (package store),
// shared by every gateway replica; each gateway keeps them in memory,
// reloads on change notification and resyncs periodically, so a request never
// waits on Redis and an outage of Redis leaves the last known routes serving.
//
// Every failure is answered by one mapping ([writeError]) as
// {"error":{"code","message"},"requestId"} with the matching HTTP status.
package gateway
