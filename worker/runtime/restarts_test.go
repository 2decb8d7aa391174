package runtime

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// TestRestartReasons: OnRestart hears of every process replaced, with why:
// one that calls process.exit, one whose event loop is stuck.
func TestRestartReasons(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	seen := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	rt, _ := startFixtures(t, Config{OnRestart: func(function, reason string) {
		mu.Lock()
		got = append(got, function+" "+reason)
		mu.Unlock()
	}}, "exit", "busy")
	pidOf(t, rt, "exit")
	pidOf(t, rt, "busy")
	if s := seen(); len(s) != 0 {
		t.Fatalf("restarts before any failure: %v", s)
	}

	if _, err := invoke(rt, "exit", 20*time.Second, map[string]string{"exit": "1"}); errCode(err) != event.CodeFunctionError {
		t.Fatalf("exit: err = %v", err)
	}
	testenv.Eventually(t, 10*time.Second, "exit restart reported", func() bool { return slices.Equal(seen(), []string{"exit exit"}) })

	if _, err := invoke(rt, "busy", 700*time.Millisecond, map[string]string{"spin": "1"}); errCode(err) != event.CodeTimeout {
		t.Fatalf("busy: err = %v", err)
	}
	testenv.Eventually(t, 10*time.Second, "unresponsive restart reported", func() bool {
		return slices.Equal(seen(), []string{"exit exit", "busy unresponsive"})
	})
	// Both are served again by their replacements.
	pidOf(t, rt, "exit")
	pidOf(t, rt, "busy")
	if s := seen(); len(s) != 2 {
		t.Fatalf("restarts = %v", s)
	}
}

// TestRestartsMetric: a Node function calling process.exit through the
// whole stack (HTTP, gateway, NATS, worker) shows on the worker's /metrics
// as fngate_worker_node_restarts_total{function="exit",reason="exit"}.
func TestRestartsMetric(t *testing.T) {
	t.Parallel()
	// The worker is created after the runtime (it needs its handlers).
	var w atomic.Pointer[worker.Worker]
	rt, _ := startFixtures(t, Config{Logger: gt.Logger(t), OnRestart: func(function, reason string) {
		w.Load().NodeRestarted(function, reason)
	}}, "exit")
	s := gt.New(t, route.Route{Domain: "*", Path: "/exit", Function: "exit"})
	w.Store(s.Worker(worker.Config{}, map[string]sdk.Handler{"exit": rt.Handler("exit")}))
	gw := s.Gateway(gateway.Config{})
	metrics := httptest.NewServer(w.Load().OperateHandler())
	defer metrics.Close()
	scrape := func() string {
		resp, err := http.Get(metrics.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	const series = `fngate_worker_node_restarts_total{function="exit",reason="exit"}`

	if r := gt.Get(t, gw.URL+"/exit"); r.Status != 200 {
		t.Fatalf("exit = %d %s", r.Status, r.Body)
	}
	if strings.Contains(scrape(), series) {
		t.Fatal("a restart counted before any")
	}
	if r := gt.Get(t, gw.URL+"/exit?exit=1"); r.Status != 502 {
		t.Fatalf("exit?exit=1 = %d %s, want 502", r.Status, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, series+" 1 on /metrics", func() bool { return strings.Contains(scrape(), series+" 1\n") })
	testenv.Eventually(t, 10*time.Second, "the replacement serves", func() bool { return gt.Get(t, gw.URL+"/exit").Status == 200 })
	if r := gt.Get(t, gw.URL+"/exit?exit=1"); r.Status != 502 {
		t.Fatalf("exit?exit=1 = %d %s, want 502", r.Status, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, series+" 2 on /metrics", func() bool { return strings.Contains(scrape(), series+" 2\n") })
}
