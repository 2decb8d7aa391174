// Package testenv starts the real dependencies integration tests run
// against: an in-process nats-server on a free port with a temporary
// JetStream store, and a redis-server process on a free port. Both are
// stopped by t.Cleanup. RedisSentinel starts a master, a replica and a
// sentinel that fails over within seconds of the master's death;
// RedisCluster starts a three-node Redis Cluster (redis-cli --cluster
// create, from redis-tools). NATSSecure starts a nats-server that requires
// TLS client certificates from a throwaway CA (NewPKI) and a password. A
// missing redis-server or redis-cli fails the test: fngate's scripts/test.sh
// installs them, and nothing is ever skipped silently.
package testenv
