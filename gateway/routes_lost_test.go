package gateway_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// load calls url from a goroutine per URL, a bounded number of times,
// until stop is called; it counts calls and answers other than 200.
type load struct {
	stop      func()
	n, non200 atomic.Int64
	last      atomic.Value // string: the last non-200 seen
}

func startLoad(t *testing.T, urls ...string) *load {
	t.Helper()
	l := &load{}
	tr := &http.Transport{}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, u := range urls {
		wg.Go(func() {
			for range 100_000 {
				select {
				case <-done:
					return
				default:
				}
				resp, err := client.Get(u)
				l.n.Add(1)
				if err != nil {
					l.non200.Add(1)
					l.last.Store(err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					l.non200.Add(1)
					l.last.Store(u + ": " + strconv.Itoa(resp.StatusCode))
				}
			}
		})
	}
	var once sync.Once
	l.stop = func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			tr.CloseIdleConnections()
		})
	}
	t.Cleanup(l.stop)
	return l
}

// more waits until the load has made n more calls.
func (l *load) more(t *testing.T, n int64) {
	t.Helper()
	from := l.n.Load()
	testenv.Eventually(t, 30*time.Second, "more calls under load", func() bool { return l.n.Load() >= from+n })
}

func createRoute(t *testing.T, gw *gt.Gateway, path string) {
	t.Helper()
	if resp := gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "", http.Header{"Content-Type": {"application/json"}}, []byte(`{"domain":"*","path":"`+path+`","function":"echo"}`)); resp.Status != 201 {
		t.Fatalf("create %s = %d %s", path, resp.Status, resp.Body)
	}
}

func status(t *testing.T, url string) int { return gt.Get(t, url).Status }

// FLUSHALL (a Redis restart without persistence, a failover to an empty
// replica) under load: the gateways keep serving their table, re-seed
// Redis from FNGATE_ROUTES above the version they hold, and converge on it;
// admin changes made afterwards reach every gateway.
func TestRoutesSurviveFlush(t *testing.T) {
	t.Parallel()
	seed := []route.Route{r("*", "/echo", "echo"), r("*", "/b", "echo")}
	s := gt.New(t, seed...)
	cfg := gateway.Config{RoutesResync: 100 * time.Millisecond, SeedRoutes: seed}
	gw1, gw2 := s.Gateway(cfg), s.Gateway(cfg)
	s.Worker(worker.Config{}, builtin.Functions())
	createRoute(t, gw1, "/extra") // known to the gateways, not to the seed
	testenv.Eventually(t, 5*time.Second, "both gateways serve /extra", func() bool {
		return status(t, gw1.URL+"/extra") == 200 && status(t, gw2.URL+"/extra") == 200
	})
	_, held, err := s.Routes.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	l := startLoad(t, gw1.URL+"/echo", gw2.URL+"/b")
	l.more(t, 50)
	if err := s.Redis.Client().FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	var ver int64
	testenv.Eventually(t, 10*time.Second, "routes back in Redis above the version served", func() bool {
		rs, v, err := s.Routes.Snapshot(context.Background())
		ver = v
		return err == nil && len(rs) == len(seed) && v > held
	})
	testenv.Eventually(t, 10*time.Second, "both gateways on the re-seeded version", func() bool {
		return metric(t, gw1, "fngate_gateway_routes_version") == float64(ver) && metric(t, gw2, "fngate_gateway_routes_version") == float64(ver)
	})
	l.more(t, 300)
	l.stop()
	if n := l.non200.Load(); n != 0 {
		t.Fatalf("%d of %d calls were not 200 (last: %v)", n, l.n.Load(), l.last.Load())
	}
	if metric(t, gw1, "fngate_gateway_routes_store_lost_total")+metric(t, gw2, "fngate_gateway_routes_store_lost_total") < 1 {
		t.Error("no gateway counted the lost route table")
	}
	if metric(t, gw1, "fngate_gateway_routes_store_behind") != 0 || metric(t, gw2, "fngate_gateway_routes_store_behind") != 0 {
		t.Error("a gateway still reports the store behind after the re-seed")
	}
	// Every gateway serves the seed now (the route Redis lost is gone from
	// all of them alike), and later changes propagate.
	if status(t, gw1.URL+"/extra") != 404 || status(t, gw2.URL+"/extra") != 404 {
		t.Error("the gateways do not serve the same table")
	}
	createRoute(t, gw2, "/later")
	testenv.Eventually(t, 5*time.Second, "a later change reaches both gateways", func() bool {
		return status(t, gw1.URL+"/later") == 200 && status(t, gw2.URL+"/later") == 200
	})
}

// Without FNGATE_ROUTES, a gateway that finds its store emptied keeps
// serving its last table, says so in a metric, and writes that table back
// so that the store and later admin changes carry on from it. A deliberate
// deletion of the last route still empties the table.
func TestRoutesSurviveFlushWithoutSeed(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"))
	gw := s.Gateway(gateway.Config{RoutesResync: 100 * time.Millisecond})
	s.Worker(worker.Config{}, builtin.Functions())
	l := startLoad(t, gw.URL+"/echo")
	l.more(t, 50)
	if err := s.Redis.Client().FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the lost table counted", func() bool {
		return metric(t, gw, "fngate_gateway_routes_store_lost_total") >= 1
	})
	l.more(t, 300)
	l.stop()
	if n := l.non200.Load(); n != 0 {
		t.Fatalf("%d of %d calls were not 200 (last: %v)", n, l.n.Load(), l.last.Load())
	}
	// The table alone gone at the version served (its key deleted), then
	// a change notification: not taken either, written back.
	lost := metric(t, gw, "fngate_gateway_routes_store_lost_total")
	l = startLoad(t, gw.URL+"/echo")
	rdb := s.Redis.Client()
	if err := rdb.Del(context.Background(), "{fngate}:routes").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(context.Background(), "fngate:routes:changed", "0").Err(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the vanished table counted and written back", func() bool {
		rs, _, err := s.Routes.Snapshot(context.Background())
		return metric(t, gw, "fngate_gateway_routes_store_lost_total") > lost && err == nil && len(rs) == 1
	})
	l.more(t, 100)
	l.stop()
	if n := l.non200.Load(); n != 0 {
		t.Fatalf("%d of %d calls were not 200 after the table vanished (last: %v)", n, l.n.Load(), l.last.Load())
	}
	createRoute(t, gw, "/later")
	testenv.Eventually(t, 5*time.Second, "a later change is served beside the last table", func() bool {
		return status(t, gw.URL+"/later") == 200 && status(t, gw.URL+"/echo") == 200
	})
	// Deleting every route is a change like any other: the version goes
	// up and the empty table is served.
	var list struct{ Routes []route.Route }
	gt.Get(t, gw.AdminURL+"/admin/routes").JSON(t, &list)
	for _, rt := range list.Routes {
		if resp := gt.Do(t, "DELETE", gw.AdminURL+"/admin/routes/"+rt.ID, "", http.Header{"Content-Type": {"application/json"}}, nil); resp.Status/100 != 2 {
			t.Fatalf("delete %s = %d %s", rt.ID, resp.Status, resp.Body)
		}
	}
	testenv.Eventually(t, 5*time.Second, "the emptied table served", func() bool {
		return status(t, gw.URL+"/echo") == 404 && status(t, gw.URL+"/later") == 404
	})
}

// TestRoutesLostThenRewritten: Redis loses the table and a route is
// written into the empty store before the gateway looks (its periodic
// check is an hour away; FLUSHALL keeps its subscription): the write
// makes a version no higher than the one the gateway serves, with other
// routes, so versions alone cannot tell. The change's epoch does: the
// gateway serves the new route and writes back the old ones, which it
// never stops serving.
func TestRoutesLostThenRewritten(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"))
	gw := s.Gateway(gateway.Config{RoutesResync: time.Hour})
	s.Worker(worker.Config{}, builtin.Functions())
	ctx := context.Background()
	// A change through the feed alone: the subscription is live.
	if err := s.Routes.Put(ctx, []route.Route{r("*", "/warm", "echo")}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "a change served through the feed", func() bool {
		return status(t, gw.URL+"/warm") == 200
	})
	held, err := s.Routes.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Redis.Client().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Routes.Put(ctx, []route.Route{r("*", "/new", "echo")}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Routes.Version(ctx); err != nil || v > held {
		t.Fatalf("version of the new table = %d, %v; want at most %d (the one served)", v, err, held)
	}
	testenv.Eventually(t, 10*time.Second, "the new route served", func() bool {
		return status(t, gw.URL+"/new") == 200
	})
	for _, p := range []string{"/echo", "/warm"} {
		if st := status(t, gw.URL+p); st != 200 {
			t.Fatalf("%s, from before the loss: %d", p, st)
		}
		testenv.Eventually(t, 10*time.Second, p+" written back", func() bool {
			_, err := s.Routes.Get(ctx, route.ID("*", p))
			return err == nil
		})
	}
}
