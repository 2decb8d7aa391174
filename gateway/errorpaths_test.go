package gateway_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
	"github.com/fngate/fngate/worker/sdk"
)

// bare serves a gateway made from d alone on loopback until the test ends
// and returns its public and admin URLs. Unlike Stack.Gateway it neither
// loads the routes before serving nor adds the queue and records.
func bare(t *testing.T, cfg gateway.Config, d gateway.Deps) (pub, admin string) {
	t.Helper()
	cfg.Logger = gt.Logger(t)
	cfg.AdminAddr = "127.0.0.1:0" // gt.Serve's listeners are what it serves on
	g, err := gateway.New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Serve(t, g)
	return gw.URL, gw.AdminURL
}

// TestRoutesUnavailable: a gateway that starts while Redis is down has no
// route table: it answers 503 ROUTES_UNAVAILABLE (not 404) until Redis
// answers, then serves the routes.
func TestRoutesUnavailable(t *testing.T) {
	t.Parallel()
	s := gt.New(t)
	s.Worker(worker.Config{}, builtin.Functions())
	s.Redis.Stop()
	pub, _ := bare(t, gateway.Config{RoutesResync: 100 * time.Millisecond}, gateway.Deps{NATS: s.Conn(), Routes: s.Routes})
	assertError(t, gt.Get(t, pub+"/echo"), 503, "ROUTES_UNAVAILABLE")
	if err := s.Redis.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Routes.Put(context.Background(), []route.Route{r("*", "/echo", "echo")}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "routes served once Redis answers", func() bool {
		return gt.Get(t, pub+"/echo").Status == 200
	})
}

// TestNATSUnavailable: with the gateway's NATS connection closed, a call is
// answered 503 UNAVAILABLE at once, not a timeout or NO_WORKER.
func TestNATSUnavailable(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"))
	s.Worker(worker.Config{}, builtin.Functions())
	nc := s.Conn()
	pub, _ := bare(t, gateway.Config{}, gateway.Deps{NATS: nc, Routes: s.Routes})
	testenv.Eventually(t, 10*time.Second, "served", func() bool { return gt.Get(t, pub+"/echo").Status == 200 })
	nc.Close()
	assertError(t, gt.Get(t, pub+"/echo"), 503, "UNAVAILABLE")
}

// TestAsyncDisabled: a gateway without the queue and the records answers
// every asynchronous request and every record lookup 503 ASYNC_DISABLED.
func TestAsyncDisabled(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"), route.Route{Domain: "*", Path: "/job", Function: "echo", Mode: "async"})
	s.Worker(worker.Config{}, builtin.Functions())
	pub, adm := bare(t, gateway.Config{}, gateway.Deps{NATS: s.Conn(), Routes: s.Routes})
	testenv.Eventually(t, 10*time.Second, "sync calls served", func() bool { return gt.Get(t, pub+"/echo").Status == 200 })
	id := record.NewInvocationID()
	for _, c := range []struct {
		method, url string
		header      http.Header
	}{
		{"POST", pub + "/echo", asyncHeader},
		{"POST", pub + "/job", nil},
		{"GET", pub + "/invocations/" + id, nil},
		{"GET", adm + "/admin/invocations", nil},
		{"GET", adm + "/admin/invocations/" + id, nil},
		{"POST", adm + "/admin/invocations/" + id + "/replay", jsonType},
		{"POST", adm + "/admin/invocations/replay", jsonType},
	} {
		resp := gt.Do(t, c.method, c.url, "", c.header, []byte(`{}`))
		if resp.Status != 503 || resp.ErrorCode() != "ASYNC_DISABLED" {
			t.Errorf("%s %s = %d %s, want 503 ASYNC_DISABLED", c.method, c.url, resp.Status, resp.Body)
		}
	}
}

// TestQueueUnavailable: an asynchronous call that cannot be queued (the
// invocation stream is gone) or recorded (Redis is down) is answered 503
// QUEUE_UNAVAILABLE, never 202.
func TestQueueUnavailable(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/job", Function: "echo", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(context.Background(), subject.StreamInvocations); err != nil {
		t.Fatal(err)
	}
	assertError(t, gt.Do(t, "POST", gw.URL+"/job", "", nil, nil), 503, "QUEUE_UNAVAILABLE")
	s.Redis.Stop()
	assertError(t, gt.Do(t, "POST", gw.URL+"/job", "", nil, nil), 503, "QUEUE_UNAVAILABLE")
}

// TestAsyncLongJobRunsOnce: a function that runs longer than the
// consumer's AckWait (5s against 2s) runs once: the worker's in-progress
// heartbeats keep JetStream from redelivering it. A replay asked for while
// it runs is refused 409 INVOCATION_IN_PROGRESS.
func TestAsyncLongJobRunsOnce(t *testing.T) {
	t.Parallel()
	const run = 5 * time.Second
	s := gt.New(t, route.Route{Domain: "*", Path: "/long", Function: "long", Mode: "async", Timeout: route.Duration(30 * time.Second)})
	if s.AckWait >= run {
		t.Fatalf("AckWait %s: the job must outlast it", s.AckWait)
	}
	gw := s.Gateway(gateway.Config{})
	var runs atomic.Int64
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"long": sdk.HandlerFunc(func(ctx context.Context, _ *event.Event) (any, error) {
			runs.Add(1)
			timer := time.NewTimer(run) // the job's work, not a wait for state
			defer timer.Stop()
			select {
			case <-timer.C:
				return "done", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}),
	})
	id := acceptOK(t, gw.URL+"/long", nil, "")
	waitStatus(t, gw, id, record.StatusRunning, 10*time.Second)
	assertError(t, gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/replay", "", nil, nil), 409, "INVOCATION_IN_PROGRESS")
	inv := waitStatus(t, gw, id, record.StatusSucceeded, 30*time.Second)
	if n := runs.Load(); n != 1 || inv.Attempts != 1 || inv.Result == nil || inv.Result.Body != "done" {
		t.Fatalf("long job: %d runs, record %+v; want one run, one attempt, succeeded", n, inv)
	}
}
