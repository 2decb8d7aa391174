package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
)

// haClient is NewClient's client for cfg, closed at cleanup; its URL names
// a closed port, so only cfg's Sentinel or Cluster addresses can work.
func haClient(t *testing.T, cfg ClientConfig) redis.UniversalClient {
	t.Helper()
	cfg.URL = "redis://127.0.0.1:1/0"
	rdb, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestCluster runs every store operation against a real three-node Redis
// Cluster through the client NewClient builds from the nodes' addresses:
// each Lua script and transaction must stay in one slot, and the
// group-committed pipelines must be split across nodes.
func TestCluster(t *testing.T) {
	t.Parallel()
	cl := testenv.RedisCluster(t)
	rdb := haClient(t, ClientConfig{Addrs: cl.Addrs()})
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("cluster addresses built a %T, want a *redis.ClusterClient", rdb)
	}
	runSuite(t, rdb)

	// Records and claims land on more than one node, so the pipelines
	// really are split.
	spread(t, rdb, 60)
	ctx := context.Background()
	holding := 0
	for _, n := range cl.Nodes {
		if size, err := n.Client().DBSize(ctx).Result(); err != nil {
			t.Fatal(err)
		} else if size > 0 {
			holding++
		}
	}
	if holding < 2 {
		t.Fatalf("keys on %d of 3 nodes, want several", holding)
	}

	// One seed address (a cluster's service name, say) is a cluster too:
	// the client learns the other nodes from it. Reading every record
	// created above touches every node.
	seed := haClient(t, ClientConfig{Addrs: cl.Addrs()[2:]})
	seeded := NewInvocations(seed, time.Hour)
	t.Cleanup(seeded.Close)
	page, err := seeded.List(ctx, record.Filter{Limit: 500})
	if err != nil {
		t.Fatalf("List through one seed address: %v", err)
	}
	if len(page.Invocations) < 60 {
		t.Fatalf("List through one seed address = %d records, want all", len(page.Invocations))
	}
}

// TestSentinelFailover runs every store operation through a Sentinel
// client, then goes through a planned failover (SENTINEL FAILOVER: the
// master is demoted and stays up) and a crash (the new master is killed):
// after each, once the sentinel has promoted the other server, the same
// client and the same route change subscription work again.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	sg := testenv.RedisSentinel(t)
	rdb := haClient(t, ClientConfig{Addrs: sg.Addrs(), MasterName: sg.MasterName})
	if _, ok := rdb.(*redis.Client); !ok {
		t.Fatalf("sentinel config built a %T, want a failover *redis.Client", rdb)
	}
	ctx := context.Background()
	runSuite(t, rdb)
	// The writes went to the master the sentinel names.
	if n, err := sg.Master.Client().HLen(ctx, keyRoutes).Result(); err != nil || n == 0 {
		t.Fatalf("master holds %d routes, %v", n, err)
	}
	rs := NewRoutes(rdb)
	changes := rs.Changes(t.Context())
	changeArrives(t, rs, changes, "/before")
	invs := NewInvocations(rdb, time.Hour)
	t.Cleanup(invs.Close)
	idem := NewIdempotency(rdb, time.Hour)
	t.Cleanup(idem.Close)
	// works writes through every store; the first write is retried while
	// the client finds the new master.
	works := func(tag string) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, "writes through the same client "+tag, func() bool {
			c, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			return rs.Put(c, []route.Route{{Domain: "*", Path: "/" + tag, Function: "f"}}) == nil
		})
		changeArrives(t, rs, changes, "/"+tag+"-notified")
		id := record.NewInvocationID()
		if err := invs.CreateNew(ctx, &record.Invocation{Summary: record.Summary{ID: id, Function: "f", Mode: "async"}}, []byte(`{}`)); err != nil {
			t.Fatalf("CreateNew %s: %v", tag, err)
		}
		if st, err := invs.Start(ctx, id, 1); err != nil || st != record.StatusRunning {
			t.Fatalf("Start %s = %q, %v", tag, st, err)
		}
		if rec, err := idem.Claim(ctx, "r", tag, "fp", time.Minute); err != nil || rec != nil {
			t.Fatalf("Claim %s = %+v, %v", tag, rec, err)
		}
	}

	// A planned failover: the old master stays up, and is a writable
	// master until the sentinel demotes it some seconds later. Writes
	// that reach it meanwhile are lost (replication is asynchronous), so
	// the test writes only once this client has switched to the new
	// master, which it learns from the sentinel's +switch-master.
	sg.WaitReplica(sg.Replica, 30*time.Second)
	if err := sg.Failover(ctx); err != nil {
		t.Fatal(err)
	}
	sg.WaitMaster(sg.Replica, 30*time.Second)
	testenv.Eventually(t, 30*time.Second, "the client talks to the new master", func() bool {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		port, err := rdb.ConfigGet(c, "port").Result()
		return err == nil && port["port"] == strconv.Itoa(sg.Replica.Port)
	})
	works("planned")

	// The demoted master follows the new one; then the new one crashes.
	sg.WaitReplica(sg.Master, 30*time.Second)
	sg.Replica.Stop()
	sg.WaitMaster(sg.Master, 60*time.Second)
	works("crash")
	all, _, err := rs.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, r := range all {
		paths[r.Path] = true
	}
	if !paths["/before"] || !paths["/planned"] || !paths["/crash"] {
		t.Fatalf("routes after two failovers: %v", paths)
	}
}

// changeArrives creates routes at path (then path-2, path-3...) until a
// change notification arrives, for at most 20s: a notification published
// while the subscription was reconnecting is lost, as in production, where
// the version check heals it.
func changeArrives(t *testing.T, rs *Routes, changes <-chan route.Change, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i := 1; time.Now().Before(deadline); i++ {
		p := path
		if i > 1 {
			p = fmt.Sprintf("%s-%d", path, i)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rs.Create(ctx, &route.Route{Domain: "*", Path: p, Function: "f"})
		cancel()
		if err != nil && !errors.Is(err, route.ErrConflict) {
			continue
		}
		select {
		case <-changes:
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Fatalf("no change notification within 20s (creating %s...)", path)
}

// spread creates n records on rdb, each with its own hash tag beside
// indexes that share one, so each CreateNew's pipeline spans slots on a
// Cluster, and runs the index trim, whose pipeline spans slots too. It
// returns the store holding the records.
func spread(t *testing.T, rdb redis.UniversalClient, n int) *Invocations {
	t.Helper()
	invs := newInvocations(t, rdb)
	for i := range n {
		inv := &record.Invocation{Summary: record.Summary{ID: record.NewInvocationID(), Function: fmt.Sprint("f", i%2), Mode: "async"}}
		if err := invs.CreateNew(context.Background(), inv, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	invs.trim()
	return invs
}

// TestSentinelAuth runs every store operation through sentinels that
// require a password of their own, in front of servers that require
// another: the client needs both, and without the sentinels' it fails
// with Redis's authentication error instead of hanging.
func TestSentinelAuth(t *testing.T) {
	t.Parallel()
	sg := testenv.RedisSentinelWith(t, testenv.SentinelOptions{Password: "data-secret", SentinelPassword: "sentinel-secret"})
	cfg := ClientConfig{URL: "redis://:data-secret@127.0.0.1:1/0", Addrs: sg.Addrs(), MasterName: sg.MasterName, SentinelPassword: "sentinel-secret"}
	rdb, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	runSuite(t, rdb)

	cfg.SentinelPassword = ""
	noSentinelAuth, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = noSentinelAuth.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := noSentinelAuth.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("ping without the sentinel password = %v, want an authentication error", err)
	}
	for _, bad := range []ClientConfig{{URL: cfg.URL, Addrs: sg.Addrs(), SentinelPassword: "x"}, {URL: cfg.URL, SentinelPassword: "x"}} {
		if _, err := NewClient(bad); err == nil {
			t.Fatalf("a sentinel password without a master name was accepted: %+v", bad)
		}
	}
}

// TestSentinelQuorum: three sentinels (quorum 2), as in production. The
// master crashes and so does the first sentinel of the client's list: the
// two left agree on the failover, and the same client finds the new master
// through them.
func TestSentinelQuorum(t *testing.T) {
	t.Parallel()
	sg := testenv.RedisSentinelWith(t, testenv.SentinelOptions{Sentinels: 3})
	rdb := haClient(t, ClientConfig{Addrs: sg.Addrs(), MasterName: sg.MasterName})
	runSuite(t, rdb)
	rs := NewRoutes(rdb)
	ctx := context.Background()
	if err := rs.Put(ctx, []route.Route{{Domain: "*", Path: "/before", Function: "f"}}); err != nil {
		t.Fatal(err)
	}
	sg.WaitReplica(sg.Replica, 30*time.Second)

	sg.Sentinels[0].Stop()
	sg.Master.Stop()
	sg.WaitMaster(sg.Replica, 60*time.Second)
	testenv.Eventually(t, 30*time.Second, "writes through the same client after the failover", func() bool {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return rs.Put(c, []route.Route{{Domain: "*", Path: "/after", Function: "f"}}) == nil
	})
	port, err := rdb.ConfigGet(ctx, "port").Result()
	if err != nil || port["port"] != strconv.Itoa(sg.Replica.Port) {
		t.Fatalf("client talks to port %v (%v), want the promoted replica's %d", port, err, sg.Replica.Port)
	}
	for _, path := range []string{"/before", "/after"} {
		if _, err := rs.Get(ctx, route.ID("*", path)); err != nil {
			t.Fatalf("route %s after the failover: %v", path, err)
		}
	}
}

// TestClusterFailover: a Redis Cluster with a replica per master loses
// the master holding the route table; its replica takes over, and the
// same client reads what was written before and writes again.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	cl := testenv.RedisClusterWithReplicas(t)
	rdb := haClient(t, ClientConfig{Addrs: cl.Addrs()})
	runSuite(t, rdb)
	ctx := context.Background()
	rs := NewRoutes(rdb)
	if err := rs.Put(ctx, []route.Route{{Domain: "*", Path: "/before", Function: "f"}}); err != nil {
		t.Fatal(err)
	}
	master, err := cl.MasterOf(ctx, keyRoutes)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the route table's master replicated", func() bool { return cl.CaughtUp(ctx, master) })

	master.Stop()
	testenv.Eventually(t, 30*time.Second, "another node is master of the route table", func() bool {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		m, err := cl.MasterOf(c, keyRoutes)
		return err == nil && m != master
	})
	// The client learns the new master from its first failed command, not
	// at its next periodic reload (clusterStateReload, 10s): well within 5s.
	testenv.Eventually(t, 5*time.Second, "writes through the same client", func() bool {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return rs.Put(c, []route.Route{{Domain: "*", Path: "/after", Function: "f"}}) == nil
	})
	for _, path := range []string{"/before", "/after"} {
		if _, err := rs.Get(ctx, route.ID("*", path)); err != nil {
			t.Fatalf("route %s after the failover: %v", path, err)
		}
	}
	// record.Invocation records and idempotency keys work too.
	invs := NewInvocations(rdb, time.Hour)
	t.Cleanup(invs.Close)
	if err := invs.CreateNew(ctx, &record.Invocation{Summary: record.Summary{ID: record.NewInvocationID(), Function: "f", Mode: "async"}}, []byte(`{}`)); err != nil {
		t.Fatalf("CreateNew after the failover: %v", err)
	}
	idem := NewIdempotency(rdb, time.Hour)
	t.Cleanup(idem.Close)
	if rec, err := idem.Claim(ctx, "r", "after", "fp", time.Minute); err != nil || rec != nil {
		t.Fatalf("Claim after the failover = %+v, %v", rec, err)
	}
}
