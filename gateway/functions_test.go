package gateway_test

import (
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// TestFunctionsRecentStats calls built-in functions that succeed and fail,
// sync and async, through the whole stack with two workers sharing them:
// GET /admin/functions sums what both workers report in their heartbeats
// over the last minute.
func TestFunctionsRecentStats(t *testing.T) {
	t.Parallel()
	s := gt.New(t,
		r("*", "/echo", "echo"), r("*", "/fail", "fail"), r("*", "/sleep", "sleep"),
		route.Route{Domain: "*", Path: "/job", Function: "echo", Mode: route.ModeAsync},
	)
	gw := s.Gateway(gateway.Config{})
	fast := worker.Config{HeartbeatInterval: 100 * time.Millisecond}
	s.Worker(fast, builtin.Functions())
	s.Worker(fast, builtin.Functions())

	get := func() map[string]gateway.FunctionLoad { return functionsByName(t, gw.AdminURL) }
	testenv.Eventually(t, 5*time.Second, "both workers listed", func() bool { return get()["echo"].Workers == 2 })
	if f := get()["echo"]; f.RecentOK != 0 || f.RecentErrors != 0 || f.RecentAvgMillis != 0 {
		t.Fatalf("echo before any call: %+v", f)
	}

	for range 5 {
		if resp := gt.Get(t, gw.URL+"/echo"); resp.Status != 200 {
			t.Fatalf("echo = %d %s", resp.Status, resp.Body)
		}
	}
	for range 3 {
		if resp := gt.Get(t, gw.URL+"/fail"); resp.Status != 502 {
			t.Fatalf("fail = %d %s", resp.Status, resp.Body)
		}
	}
	for range 2 {
		if resp := gt.Get(t, gw.URL+"/sleep?ms=50"); resp.Status != 200 {
			t.Fatalf("sleep = %d %s", resp.Status, resp.Body)
		}
	}
	waitStatus(t, gw, acceptOK(t, gw.URL+"/job", nil, "x"), record.StatusSucceeded, 15*time.Second)

	var m map[string]gateway.FunctionLoad
	testenv.Eventually(t, 5*time.Second, "recent counts in the heartbeats", func() bool {
		m = get()
		return m["echo"].RecentOK == 6 && m["fail"].RecentErrors == 3 && m["sleep"].RecentOK == 2
	})
	if e, f, sl := m["echo"], m["fail"], m["sleep"]; e.RecentErrors != 0 || f.RecentOK != 0 || sl.RecentErrors != 0 ||
		e.RecentAvgMillis <= 0 || f.RecentAvgMillis <= 0 || sl.RecentAvgMillis < 50 {
		t.Fatalf("echo %+v, fail %+v, sleep %+v", e, f, sl)
	}
	if p := m["panic"]; p.RecentOK != 0 || p.RecentErrors != 0 || p.RecentAvgMillis != 0 {
		t.Fatalf("panic, never called: %+v", p)
	}
}
