package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/fngate/fngate/shared/envflag"
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

// Bind binds the client settings to their FNGATE_REDIS_* flags and
// variables, the same in every binary; holds says what the binary keeps in
// Redis.
func (c *ClientConfig) Bind(s *envflag.Set, holds string) {
	s.String(&c.URL, "redis-url", "FNGATE_REDIS_URL", "redis://127.0.0.1:6379/0", "Redis URL holding "+holds)
	s.List(&c.Addrs, "redis-addrs", "FNGATE_REDIS_ADDRS", nil, "Redis Sentinel (with FNGATE_REDIS_MASTER) or Cluster node addresses, comma-separated; FNGATE_REDIS_URL still gives credentials and database")
	s.String(&c.MasterName, "redis-master", "FNGATE_REDIS_MASTER", "", "Redis Sentinel master name")
	s.Secret(&c.SentinelPassword, "redis-sentinel-password", "FNGATE_REDIS_SENTINEL_PASSWORD", "password of the Redis sentinels themselves (FNGATE_REDIS_URL has the servers')")
}

// NewClient returns a go-redis universal client for cfg.
func NewClient(cfg ClientConfig) (redis.UniversalClient, error) {
	if cfg.SentinelPassword != "" && cfg.MasterName == "" {
		return nil, fmt.Errorf("store: a sentinel password needs a Sentinel master name")
	}
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
	u.SentinelPassword = cfg.SentinelPassword
	if u.IsClusterMode && u.DB != 0 {
		return nil, fmt.Errorf("store: Redis Cluster has only database 0, the URL names %d", u.DB)
	}
	if u.IsClusterMode {
		return newClusterClient(u.Cluster()), nil
	}
	return redis.NewUniversalClient(u), nil
}

// clusterStateReload bounds how stale a cluster client's map of slots to
// nodes gets when nothing tells it (go-redis's default is 60s).
const clusterStateReload = 10 * time.Second

// newClusterClient returns a cluster client that reloads its map of slots
// as soon as a command fails on the network. A node that is gone answers
// no MOVED, and go-redis (v9.23, redis/go-redis#3979) would keep dialling
// it until its next periodic reload, while the cluster promoted the
// node's replica seconds ago.
func newClusterClient(o *redis.ClusterOptions) *redis.ClusterClient {
	o.ClusterStateReloadInterval = clusterStateReload
	c := redis.NewClusterClient(o)
	c.AddHook(reloadOnNetworkError{c})
	return c
}

// reloadOnNetworkError asks its cluster client for a new map of slots when
// a command or pipeline fails to reach a node. Reloads are lazy and
// coalesced by go-redis, so a burst of failures costs one reload.
type reloadOnNetworkError struct{ c *redis.ClusterClient }

func (h reloadOnNetworkError) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadOnNetworkError) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		_ = h.check(ctx, err)
		return err
	}
}

func (h reloadOnNetworkError) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if !h.check(ctx, err) {
			for _, cmd := range cmds {
				if h.check(ctx, cmd.Err()) {
					break // one reload serves them all
				}
			}
		}
		return err
	}
}

// check asks for a reload when err is a network error, and reports
// whether it did.
func (h reloadOnNetworkError) check(ctx context.Context, err error) bool {
	var ne net.Error
	if err == nil || !(errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED)) {
		return false
	}
	h.c.ReloadState(ctx)
	return true
}
