// Package testenv starts the real dependencies integration tests run
// against: an in-process nats-server on a free port with a temporary
// JetStream store, and a redis-server process on a free port. Both are
// stopped by t.Cleanup. NATSSecure starts a nats-server that requires TLS
// client certificates from a throwaway CA (NewPKI) and a password. A
// missing redis-server fails the test: fngate's scripts/test.sh installs
// it, and nothing is ever skipped silently.
package testenv
