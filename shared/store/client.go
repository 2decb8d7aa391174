package store

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ClientConfig says how to reach Redis: a single server by URL, a Sentinel
// group (Addrs of the sentinels plus MasterName), or a Cluster (Addrs of
// one or more nodes, no MasterName).
type ClientConfig struct {
	// URL is redis://[user:password@]host:port/db or rediss:// for TLS.
	// It is used when Addrs is empty; with Addrs, its credentials, database
	// and TLS setting still apply.
	URL string
	// Addrs are host:port of sentinels (with MasterName) or cluster nodes
	// (any subset: the client discovers the others).
	Addrs []string
	// MasterName selects Sentinel mode.
	MasterName string
	// SentinelPassword authenticates to the sentinels themselves, for
	// sentinels with requirepass (Bitnami's chart gives them the Redis
	// password when auth is on). The URL's password is the data servers'.
	SentinelPassword string
}

// NewClient returns a go-redis universal client for cfg.
func NewClient(cfg ClientConfig) (redis.UniversalClient, error) {
	var base *redis.Options
	if cfg.URL != "" {
		o, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("store: redis URL: %w", err)
		}
		base = o
	}
	if len(cfg.Addrs) == 0 {
		if base == nil {
			return nil, fmt.Errorf("store: a Redis URL or addresses are required")
		}
		if cfg.MasterName != "" {
			return nil, fmt.Errorf("store: a Sentinel master name needs the sentinels' addresses")
		}
		return redis.NewClient(base), nil
	}
	// Without a master name the addresses are cluster nodes, even a single
	// one (a cluster's service address): go-redis would otherwise take one
	// address for a plain server and fail on every MOVED reply.
	u := &redis.UniversalOptions{Addrs: cfg.Addrs, MasterName: cfg.MasterName, IsClusterMode: cfg.MasterName == ""}
	if base != nil {
		u.Username, u.Password, u.DB, u.TLSConfig = base.Username, base.Password, base.DB, base.TLSConfig
	}
	if cfg.SentinelPassword != "" {
		if cfg.MasterName == "" {
			return nil, fmt.Errorf("store: a sentinel password needs a Sentinel master name")
		}
		u.SentinelPassword = cfg.SentinelPassword
	}
	if u.IsClusterMode && u.DB != 0 {
		return nil, fmt.Errorf("store: Redis Cluster has only database 0, the URL names %d", u.DB)
	}
	return redis.NewUniversalClient(u), nil
}
