package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// haClient builds the store client as the gateway command does.
func haClient(t *testing.T, cfg store.ClientConfig) redis.UniversalClient {
	t.Helper()
	cfg.URL = "redis://127.0.0.1:1/0" // FNGATE_REDIS_URL's default is always set; Addrs win
	rdb, err := store.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// admin sends an admin API request (loopback listener: no token needed).
func adminDo(t *testing.T, gw *gt.Gateway, method, path string, body any) *gt.Response {
	t.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	return gt.Do(t, method, gw.AdminURL+path, "", http.Header{"Content-Type": {"application/json"}}, data)
}

// subscribers counts the route change subscriptions on the given servers.
func subscribers(ctx context.Context, nodes ...*testenv.Redis) int64 {
	var n int64
	for _, node := range nodes {
		c := redis.NewClient(&redis.Options{Addr: node.Addr(), MaxRetries: -1})
		m, err := c.PubSubNumSub(ctx, store.ChannelRoutes).Result()
		_ = c.Close()
		if err == nil {
			n += m[store.ChannelRoutes]
		}
	}
	return n
}

// failoverStack is the two failover tests' stack on rdb: the echo route and
// a worker, gateway a checking the route version every 200ms and b once a
// minute, both subscribed to route changes on one of nodes.
func failoverStack(t *testing.T, rdb redis.UniversalClient, nodes ...*testenv.Redis) (a, b *gt.Gateway) {
	t.Helper()
	s := gt.NewOnRedis(t, rdb, r("*", "/echo", "echo"))
	s.Worker(worker.Config{}, builtin.Functions())
	a = s.Gateway(gateway.Config{RoutesResync: 200 * time.Millisecond})
	b = s.Gateway(gateway.Config{RoutesResync: time.Minute})
	testenv.Eventually(t, 10*time.Second, "both gateways subscribed to route changes", func() bool {
		return subscribers(context.Background(), nodes...) >= 2
	})
	return a, b
}

// TestRedisCluster runs a stack on a three-node Redis Cluster: a route
// created through the admin API is served by both gateways (the second
// learns it through pub/sub across the cluster), sync, keyed and async
// calls work, and the async record is readable over HTTP.
func TestRedisCluster(t *testing.T) {
	t.Parallel()
	cl := testenv.RedisCluster(t)
	rdb := haClient(t, store.ClientConfig{Addrs: cl.Addrs()})
	s := gt.NewOnRedis(t, rdb)
	s.Worker(worker.Config{}, builtin.Functions())
	a := s.Gateway(gateway.Config{})
	// b checks the version once a minute: within the test, it can only
	// learn a change through pub/sub.
	b := s.Gateway(gateway.Config{RoutesResync: time.Minute})
	ctx := context.Background()
	testenv.Eventually(t, 10*time.Second, "both gateways subscribed to route changes", func() bool {
		return subscribers(ctx, cl.Nodes...) >= 2
	})

	resp := adminDo(t, a, "POST", "/admin/routes", map[string]any{"domain": "*", "path": "/echo", "function": "echo"})
	if resp.Status != 201 {
		t.Fatalf("create = %d %s", resp.Status, resp.Body)
	}
	echoEvent(t, gt.Get(t, a.URL+"/echo"))
	testenv.Eventually(t, 10*time.Second, "gateway b serves the new route", func() bool {
		return gt.Get(t, b.URL+"/echo").Status == 200
	})

	// Keyed: the claim and completion, then the replay of the response.
	if resp := gt.Do(t, "POST", a.URL+"/echo", "", key("k1"), []byte("x")); resp.Status != 200 {
		t.Fatalf("keyed call = %d %s", resp.Status, resp.Body)
	}
	if resp := gt.Do(t, "POST", b.URL+"/echo", "", key("k1"), []byte("x")); resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("keyed retry = %d %v, want the replayed response", resp.Status, resp.Header)
	}

	// Async: accepted, run by the worker, the record readable on both.
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = acceptOK(t, a.URL+"/echo", asyncHeader, `{"n":1}`)
	}
	for _, id := range ids {
		waitStatus(t, b, id, record.StatusSucceeded, 20*time.Second)
	}
	var list struct{ Invocations []record.Invocation }
	adminDo(t, a, "GET", "/admin/invocations?function=echo", nil).JSON(t, &list)
	if len(list.Invocations) != len(ids) {
		t.Fatalf("admin list has %d invocations, want %d", len(list.Invocations), len(ids))
	}
}

// TestRedisSentinelFailover kills the Redis master under a running stack
// whose client knows only the sentinel: until the sentinel promotes the
// replica the gateway keeps serving its cached routes; afterwards admin
// changes reach both gateways (the second through its pub/sub
// subscription, which go-redis re-established on the new master) and
// async invocations run again, with no restart. A record written before
// the failover (and replicated) is still readable.
func TestRedisSentinelFailover(t *testing.T) {
	t.Parallel()
	sg := testenv.RedisSentinel(t)
	rdb := haClient(t, store.ClientConfig{Addrs: sg.Addrs(), MasterName: sg.MasterName})
	a, b := failoverStack(t, rdb, sg.Master)
	ctx := context.Background()

	if resp := adminDo(t, a, "POST", "/admin/routes", map[string]any{"domain": "*", "path": "/before", "function": "echo"}); resp.Status != 201 {
		t.Fatalf("create = %d %s", resp.Status, resp.Body)
	}
	echoEvent(t, gt.Get(t, a.URL+"/before"))
	testenv.Eventually(t, 10*time.Second, "gateway b serves the new route", func() bool {
		return gt.Get(t, b.URL+"/before").Status == 200
	})
	before := acceptOK(t, a.URL+"/echo", asyncHeader, "before")
	waitStatus(t, a, before, record.StatusSucceeded, 20*time.Second)
	// Replication is asynchronous: wait until the replica has every
	// write, so that the crash cannot lose them.
	sg.WaitReplica(sg.Replica, 30*time.Second)

	sg.Master.Stop()
	served := 0
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, cancel := context.WithTimeout(ctx, time.Second)
		addr, err := sg.MasterAddr(c)
		cancel()
		if err == nil && addr == sg.Replica.Addr() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sentinel did not promote the replica within 60s")
		}
		for _, gw := range []*gt.Gateway{a, b} {
			for _, path := range []string{"/echo", "/before"} {
				if resp := gt.Get(t, gw.URL+path); resp.Status != 200 {
					t.Fatalf("%s with the master down = %d %s", path, resp.Status, resp.Body)
				}
				served++
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d calls served from cached routes while the master was down", served)
	if served == 0 {
		t.Fatal("the failover finished before any call was made during it")
	}

	// b's subscription is back, now on the promoted replica.
	testenv.Eventually(t, 30*time.Second, "both gateways resubscribed on the new master", func() bool {
		return subscribers(ctx, sg.Replica) >= 2
	})
	testenv.Eventually(t, 30*time.Second, "admin API writes again", func() bool {
		resp := adminDo(t, a, "POST", "/admin/routes", map[string]any{"domain": "*", "path": "/after", "function": "echo"})
		return resp.Status == 201 || resp.ErrorCode() == "ROUTE_EXISTS"
	})
	testenv.Eventually(t, 10*time.Second, "gateway b serves the route created after the failover", func() bool {
		return gt.Get(t, b.URL+"/after").Status == 200
	})
	var list struct{ Routes []route.Route }
	adminDo(t, a, "GET", "/admin/routes", nil).JSON(t, &list)
	for _, rt := range list.Routes {
		if rt.Path == "/before" {
			if resp := adminDo(t, a, "DELETE", "/admin/routes/"+rt.ID, nil); resp.Status != 204 {
				t.Fatalf("delete after failover = %d %s", resp.Status, resp.Body)
			}
		}
	}
	testenv.Eventually(t, 10*time.Second, "gateway b drops the deleted route", func() bool {
		return gt.Get(t, b.URL+"/before").Status == 404
	})

	after := acceptOK(t, a.URL+"/echo", asyncHeader, "after")
	waitStatus(t, b, after, record.StatusSucceeded, 20*time.Second)
	if inv := publicRecord(t, b, before); inv.Status != record.StatusSucceeded {
		t.Fatalf("record from before the failover = %+v", inv)
	}
}

// TestRedisClusterFailover kills the Cluster master that holds the route
// change channel's slot, under two gateways subscribed to it: they keep
// serving their cached routes, and once its replica has taken over, an
// admin change reaches both (the second, which checks the version only
// once a minute, through its re-established subscription) and async
// invocations run again, with nothing restarted.
func TestRedisClusterFailover(t *testing.T) {
	t.Parallel()
	cl := testenv.RedisClusterWithReplicas(t)
	rdb := haClient(t, store.ClientConfig{Addrs: cl.Addrs()})
	a, b := failoverStack(t, rdb, cl.Nodes...)
	ctx := context.Background()
	echoEvent(t, gt.Get(t, b.URL+"/echo"))
	master, err := cl.MasterOf(ctx, store.ChannelRoutes)
	if err != nil {
		t.Fatal(err)
	}
	if subscribers(ctx, master) < 2 {
		t.Fatalf("the gateways' subscriptions are not on the master of the channel's slot %s", master.Addr())
	}
	testenv.Eventually(t, 10*time.Second, "that master replicated", func() bool { return cl.CaughtUp(ctx, master) })

	master.Stop()
	served := 0
	testenv.Eventually(t, 30*time.Second, "another node is master of the channel's slot", func() bool {
		for _, gw := range []*gt.Gateway{a, b} {
			if resp := gt.Get(t, gw.URL+"/echo"); resp.Status != 200 {
				t.Fatalf("/echo with the master down = %d %s", resp.Status, resp.Body)
			}
			served++
		}
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		m, err := cl.MasterOf(c, store.ChannelRoutes)
		return err == nil && m != master
	})
	t.Logf("%d calls served from cached routes during the failover", served)

	testenv.Eventually(t, 30*time.Second, "both gateways resubscribed", func() bool {
		return subscribers(ctx, cl.Nodes...) >= 2
	})
	testenv.Eventually(t, 30*time.Second, "admin API writes again", func() bool {
		resp := adminDo(t, a, "POST", "/admin/routes", map[string]any{"domain": "*", "path": "/after", "function": "echo"})
		return resp.Status == 201 || resp.ErrorCode() == "ROUTE_EXISTS"
	})
	testenv.Eventually(t, 10*time.Second, "gateway b serves the route created after the failover", func() bool {
		return gt.Get(t, b.URL+"/after").Status == 200
	})
	id := acceptOK(t, a.URL+"/echo", asyncHeader, "after")
	waitStatus(t, b, id, record.StatusSucceeded, 20*time.Second)
}
