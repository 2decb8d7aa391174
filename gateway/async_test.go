package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
	"github.com/fngate/fngate/worker/sdk"
)

var asyncHeader = http.Header{"X-Invocation-Type": {"async"}}

// acceptOK posts an async call and returns its invocation id.
func acceptOK(t *testing.T, url string, h http.Header, body string) string {
	t.Helper()
	resp := gt.Do(t, "POST", url, "", h, []byte(body))
	var a struct{ InvocationID, Status string }
	resp.JSON(t, &a)
	if resp.Status != 202 || a.Status != "queued" || a.InvocationID == "" ||
		resp.Header.Get("X-Invocation-Id") != a.InvocationID || resp.Header.Get("Location") != "/invocations/"+a.InvocationID {
		t.Fatalf("accept = %d %s %v", resp.Status, resp.Body, resp.Header)
	}
	return a.InvocationID
}

// publicRecord reads GET /invocations/<id> from the public listener.
func publicRecord(t *testing.T, gw *gt.Gateway, id string) *record.PublicInvocation {
	t.Helper()
	resp := gt.Get(t, gw.URL+"/invocations/"+id)
	if resp.Status != 200 {
		t.Fatalf("GET /invocations/%s = %d %s", id, resp.Status, resp.Body)
	}
	var inv record.PublicInvocation
	resp.JSON(t, &inv)
	return &inv
}

// adminRecord reads GET /admin/invocations/<id>: the whole record with its
// error texts and event.
func adminRecord(t *testing.T, gw *gt.Gateway, id string) *adminDetail {
	t.Helper()
	resp := gt.Get(t, gw.AdminURL+"/admin/invocations/"+id)
	if resp.Status != 200 {
		t.Fatalf("GET /admin/invocations/%s = %d %s", id, resp.Status, resp.Body)
	}
	var d adminDetail
	resp.JSON(t, &d)
	return &d
}

type adminDetail struct {
	record.Invocation
	Event event.Event `json:"event"`
}

// waitStatus polls the record until it has status.
func waitStatus(t *testing.T, gw *gt.Gateway, id, status string, within time.Duration) *record.PublicInvocation {
	t.Helper()
	var inv *record.PublicInvocation
	testenv.Eventually(t, within, "invocation "+id+" "+status, func() bool {
		inv = publicRecord(t, gw, id)
		return inv.Status == status
	})
	return inv
}

func TestAsyncAcceptAndResult(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"), route.Route{Domain: "*", Path: "/jobs", Function: "echo", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())

	id := acceptOK(t, gw.URL+"/echo?x=1", asyncHeader, `{"a":1}`)
	inv := waitStatus(t, gw, id, record.StatusSucceeded, 10*time.Second)
	var ev event.Event
	if err := json.Unmarshal([]byte(inv.Result.Body), &ev); err != nil || inv.Result.StatusCode != 200 || ev.Body != `{"a":1}` || ev.QueryStringParameters["x"] != "1" {
		t.Fatalf("result = %+v (%v)", inv.Result, err)
	}
	if inv.Attempts != 1 || inv.Mode != "async" || inv.Function != "echo" || inv.FinishedAt == nil {
		t.Fatalf("record = %+v", inv)
	}
	// A route in async mode queues without the header; "Event" works too.
	waitStatus(t, gw, acceptOK(t, gw.URL+"/jobs", nil, "x"), record.StatusSucceeded, 10*time.Second)
	waitStatus(t, gw, acceptOK(t, gw.URL+"/echo", http.Header{"X-Invocation-Type": {"Event"}}, ""), record.StatusSucceeded, 10*time.Second)
	// The sync header cannot make an async route wait.
	if resp := gt.Do(t, "POST", gw.URL+"/jobs", "", http.Header{"X-Invocation-Type": {"sync"}}, nil); resp.Status != 202 {
		t.Fatalf("sync header on an async route = %d", resp.Status)
	}

	// Never accept what cannot run.
	assertError(t, gt.Do(t, "POST", gw.URL+"/nowhere", "", asyncHeader, nil), 404, "ROUTE_NOT_FOUND")
	assertError(t, gt.Do(t, "POST", gw.URL+"/echo", "", http.Header{"X-Invocation-Type": {"later"}}, nil), 400, "INVALID_REQUEST")
	assertError(t, gt.Do(t, "POST", gw.URL+"/echo", "", http.Header{"X-Invocation-Type": {"async"}, "X-Callback-Url": {"ftp://x"}}, nil), 400, "INVALID_REQUEST")
	assertError(t, gt.Get(t, gw.URL+"/invocations/0123456789abcdef0123456789abcdef"), 404, "INVOCATION_NOT_FOUND")
	assertError(t, gt.Do(t, "DELETE", gw.URL+"/invocations/x", "", nil, nil), 405, "METHOD_NOT_ALLOWED")
	assertError(t, gt.Get(t, gw.URL+"/invocations/x"), 400, "INVALID_INVOCATION_ID")
}

func TestAsyncRetriesThenDead(t *testing.T) {
	t.Parallel()
	s := gt.New(t,
		route.Route{Domain: "*", Path: "/flaky", Function: "flaky", Mode: "async",
			Retry: &route.Retry{MaxAttempts: 3, InitialDelay: route.Duration(300 * time.Millisecond), MaxDelay: route.Duration(2 * time.Second)}},
		route.Route{Domain: "*", Path: "/echo", Function: "echo", Mode: "async"},
	)
	gw := s.Gateway(gateway.Config{})
	var mu sync.Mutex
	var times []time.Time
	var broken atomic.Bool
	broken.Store(true)
	var runs atomic.Int64
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"echo": sdk.HandlerFunc(builtin.Echo),
		"flaky": sdk.HandlerFunc(func(ctx context.Context, ev *event.Event) (any, error) {
			runs.Add(1)
			if broken.Load() {
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
				return nil, fmt.Errorf("broken #%d", runs.Load())
			}
			return map[string]string{"fixed": ev.Body}, nil
		}),
	})
	id := acceptOK(t, gw.URL+"/flaky", nil, "payload-1")
	// Other invocations keep flowing while flaky retries.
	waitStatus(t, gw, acceptOK(t, gw.URL+"/echo", nil, ""), record.StatusSucceeded, 10*time.Second)
	inv := waitStatus(t, gw, id, record.StatusDead, 20*time.Second)

	mu.Lock()
	got := append([]time.Time(nil), times...)
	mu.Unlock()
	if len(got) != 3 || inv.Attempts != 3 || len(inv.AttemptErrors) != 3 {
		t.Fatalf("%d runs, record attempts %d with %d errors; want exactly 3", len(got), inv.Attempts, len(inv.AttemptErrors))
	}
	// Backoff 300ms then 600ms, ±20% jitter. The promise is that a retry
	// waits at least its delay; how much later it runs depends on the
	// machine (-race on two busy cores), so that figure is only logged.
	for i, want := range []time.Duration{300 * time.Millisecond, 600 * time.Millisecond} {
		gap := got[i+1].Sub(got[i])
		t.Logf("gap before attempt %d = %s (backoff %s ±20%%)", i+2, gap, want)
		if gap < want*8/10 {
			t.Errorf("gap before attempt %d = %s, shorter than the backoff %s -20%%", i+2, gap, want)
		}
	}
	// The public record has codes and fixed texts; the admin's the errors.
	for i, ae := range inv.AttemptErrors {
		if ae.Attempt != i+1 || ae.Code != event.CodeFunctionError || ae.At == nil || ae.Message != "the function failed" {
			t.Errorf("attempt error %d = %+v", i, ae)
		}
	}
	for i, ae := range adminRecord(t, gw, id).AttemptErrors {
		if ae.Attempt != i+1 || ae.Code != event.CodeFunctionError || ae.At.IsZero() || !strings.HasPrefix(ae.Error, "broken #") {
			t.Errorf("admin attempt error %d = %+v", i, ae)
		}
	}
	// The dead letter holds the original event and every attempt's error.
	msg := lastDeadLetter(t, s, "flaky")
	var letter struct {
		InvocationID string
		Attempts     []record.AttemptError
		Event        event.Event
	}
	if err := json.Unmarshal(msg.Data, &letter); err != nil || letter.InvocationID != id || len(letter.Attempts) != 3 || letter.Event.Body != "payload-1" {
		t.Fatalf("dead letter = %+v (%v)", letter, err)
	}

	// Fix the function and replay: twice at once, one new invocation.
	broken.Store(false)
	before := runs.Load()
	admin := func() *gt.Response {
		return gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/replay", "", nil, nil)
	}
	var ids [2]string
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() { // reports with t.Error: t.Fatal only from the test's goroutine
			resp, err := gt.Try("POST", gw.AdminURL+"/admin/invocations/"+id+"/replay", "", nil, nil)
			if err != nil {
				t.Error(err)
				return
			}
			var a struct{ InvocationID, ReplayOf string }
			if err := json.Unmarshal(resp.Body, &a); err != nil || resp.Status != 202 || a.ReplayOf != id {
				t.Errorf("replay = %d %s", resp.Status, resp.Body)
			}
			ids[i] = a.InvocationID
		})
	}
	wg.Wait()
	if ids[0] != ids[1] || ids[0] == "" {
		t.Fatalf("concurrent replays made %q and %q, want one invocation", ids[0], ids[1])
	}
	rep := waitStatus(t, gw, ids[0], record.StatusSucceeded, 10*time.Second)
	if rep.ReplayOf != id || rep.Result.Body != `{"fixed":"payload-1"}` {
		t.Fatalf("replay record = %+v", rep)
	}
	if n := runs.Load() - before; n != 1 {
		t.Fatalf("replay ran the function %d times, want 1", n)
	}
	// Replayed at most once: a later replay returns that same invocation.
	var again struct{ InvocationID string }
	admin().JSON(t, &again)
	if again.InvocationID != ids[0] || runs.Load()-before != 1 {
		t.Fatalf("later replay = %s (runs %d), want %s and no new run", again.InvocationID, runs.Load()-before, ids[0])
	}
	// A replay of a running-or-queued invocation is refused; of an unknown one, 404.
	assertError(t, gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/nope/replay", "", nil, nil), 404, "INVOCATION_NOT_FOUND")
}

func TestAsyncPermanentAndRetryAfter(t *testing.T) {
	t.Parallel()
	retry := &route.Retry{MaxAttempts: 5, InitialDelay: route.Duration(50 * time.Millisecond), MaxDelay: route.Duration(100 * time.Millisecond)}
	s := gt.New(t,
		route.Route{Domain: "*", Path: "/perm", Function: "perm", Mode: "async", Retry: retry},
		route.Route{Domain: "*", Path: "/busy", Function: "busy", Mode: "async", Retry: retry},
	)
	gw := s.Gateway(gateway.Config{})
	var busyTimes []time.Time
	var mu sync.Mutex
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"perm": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			return nil, sdk.Permanent(errors.New("bad order"))
		}),
		"busy": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			busyTimes = append(busyTimes, time.Now())
			if len(busyTimes) == 1 {
				return &event.Response{StatusCode: 429, Headers: map[string]string{"Retry-After": "1"}, Body: "slow down"}, nil
			}
			return "ok", nil
		}),
	})
	inv := waitStatus(t, gw, acceptOK(t, gw.URL+"/perm", nil, ""), record.StatusDead, 10*time.Second)
	if inv.Attempts != 1 || len(inv.AttemptErrors) != 1 {
		t.Fatalf("permanent failure retried: %+v", inv)
	}
	waitStatus(t, gw, acceptOK(t, gw.URL+"/busy", nil, ""), record.StatusSucceeded, 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if gap := busyTimes[1].Sub(busyTimes[0]); gap < time.Second {
		t.Fatalf("retry %s after a 429 with Retry-After: 1", gap)
	}
}

func TestAsyncWorkerKilledMidInvocation(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/job", Function: "job", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	var runs atomic.Int64
	id := killedMidRun(t, s, gw, &runs, "")
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"job": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			runs.Add(1)
			return "done", nil
		}),
	})
	inv := waitStatus(t, gw, id, record.StatusSucceeded, 20*time.Second)
	if inv.Attempts != 2 || inv.Result.Body != "done" || runs.Load() != 2 {
		t.Fatalf("after the kill: record %+v, %d runs", inv, runs.Load())
	}
}

func TestAsyncSurvivesGatewayAndNATSRestart(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/job", Function: "echo", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = acceptOK(t, gw.URL+"/job", nil, fmt.Sprint(i))
	}
	if err := gw.Stop(); err != nil {
		t.Fatal(err)
	}
	s.RestartNATS()
	gw2 := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())
	for i, id := range ids {
		inv := waitStatus(t, gw2, id, record.StatusSucceeded, 30*time.Second)
		var ev event.Event
		if json.Unmarshal([]byte(inv.Result.Body), &ev) != nil || ev.Body != fmt.Sprint(i) {
			t.Fatalf("invocation %d result %+v", i, inv.Result)
		}
	}
}

func TestAsyncTenThousandWhileNoWorker(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/job", Function: "count", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	const n, clients = 10_000, 16
	var accepted sync.Map
	var wg sync.WaitGroup
	var next atomic.Int64
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > n {
					return
				}
				req, _ := http.NewRequest("POST", gw.URL+"/job", nil)
				req.Header.Set("X-Request-Id", fmt.Sprint("req-", i))
				resp, err := gt.Client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var a struct{ InvocationID string }
				_ = json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				if resp.StatusCode != 202 {
					t.Errorf("accept %d = %d", i, resp.StatusCode)
					return
				}
				accepted.Store(a.InvocationID, true)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	count := &runCounter{}
	for range 2 {
		s.Worker(worker.Config{}, map[string]sdk.Handler{"count": count})
	}
	testenv.Eventually(t, 3*time.Minute, "every invocation ran", func() bool {
		return len(count.counts()) == n
	})
	for id, c := range count.counts() {
		if c != 1 {
			t.Errorf("request %s ran %d times", id, c)
		}
	}
	// Every accepted id has exactly one succeeded record.
	succeeded := 0
	f := record.Filter{Function: "count", Limit: 500}
	testenv.Eventually(t, 30*time.Second, "all records succeeded", func() bool {
		succeeded, f.Cursor = 0, ""
		for {
			page, err := s.Invocations.List(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, inv := range page.Invocations {
				if _, ok := accepted.Load(inv.ID); ok && inv.Status == record.StatusSucceeded && inv.Attempts == 1 {
					succeeded++
				}
			}
			if page.NextCursor == "" {
				return succeeded == n
			}
			f.Cursor = page.NextCursor
		}
	})
}

func TestAsyncCallbacks(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/echo", Function: "echo", Mode: "async"})
	// The receivers are on loopback, which callbacks reach only when the
	// operator allows it (TestCallbackRefused).
	s.Async.CallbackAllow = []string{"127.0.0.0/8", "::1"}
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())
	got := make(chan map[string]any, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &m)
		got <- m
	}))
	t.Cleanup(cb.Close)
	id := acceptOK(t, gw.URL+"/echo", http.Header{"X-Callback-Url": {cb.URL + "/hook"}}, "hi")
	select {
	case m := <-got:
		res, _ := m["result"].(map[string]any)
		if m["invocationId"] != id || m["status"] != "succeeded" || res == nil || res["statusCode"] != 200.0 {
			t.Fatalf("callback = %v", m)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no callback")
	}
	testenv.Eventually(t, 10*time.Second, "callback recorded delivered", func() bool {
		inv := publicRecord(t, gw, id)
		return inv.Callback != nil && inv.Callback.Status == "delivered"
	})

	// An unreachable callback is retried, then recorded failed; the
	// invocation itself stays succeeded.
	dead := fmt.Sprintf("http://127.0.0.1:%d/hook", testenv.FreePort(t))
	id = acceptOK(t, gw.URL+"/echo", http.Header{"X-Callback-Url": {dead}}, "hi")
	testenv.Eventually(t, 30*time.Second, "callback recorded failed", func() bool {
		inv := publicRecord(t, gw, id)
		return inv.Callback != nil && inv.Callback.Status == "failed"
	})
	inv := publicRecord(t, gw, id)
	if inv.Status != record.StatusSucceeded || inv.Callback.Attempts != 5 || inv.Callback.Code != record.CodeCallbackFailed {
		t.Fatalf("record = status %s, callback %+v", inv.Status, inv.Callback)
	}
}

func TestSyncFailuresRecordedAndReplayed(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/pay", Function: "pay", RecordFailures: true})
	gw := s.Gateway(gateway.Config{})
	var broken atomic.Bool
	broken.Store(true)
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"pay": sdk.HandlerFunc(func(_ context.Context, ev *event.Event) (any, error) {
			if broken.Load() {
				return nil, errors.New("card processor down")
			}
			return "paid " + ev.Body, nil
		}),
	})
	assertError(t, gt.Do(t, "POST", gw.URL+"/pay", "", nil, []byte("42")), 502, "FUNCTION_ERROR")
	var page record.Page
	testenv.Eventually(t, 5*time.Second, "failed sync call listed", func() bool {
		gt.Get(t, gw.AdminURL+"/admin/invocations?function=pay&status=failed").JSON(t, &page)
		return len(page.Invocations) == 1
	})
	orig := page.Invocations[0]
	if orig.Mode != "sync" || orig.Error == "" {
		t.Fatalf("recorded = %+v", orig)
	}
	// Replay every failed call of the function (the filter form).
	broken.Store(false)
	resp := gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/replay", "", jsonType, []byte(`{"function":"pay","status":"failed"}`))
	var out struct {
		Replayed []struct{ InvocationID, ReplayOf string }
	}
	resp.JSON(t, &out)
	if resp.Status != 202 || len(out.Replayed) != 1 || out.Replayed[0].ReplayOf != orig.ID {
		t.Fatalf("replay by filter = %d %s", resp.Status, resp.Body)
	}
	inv := waitStatus(t, gw, out.Replayed[0].InvocationID, record.StatusSucceeded, 10*time.Second)
	if inv.Result.Body != "paid 42" {
		t.Fatalf("replayed result = %+v", inv.Result)
	}
	// The admin detail shows the event.
	var detail struct {
		Event event.Event `json:"event"`
	}
	gt.Get(t, gw.AdminURL+"/admin/invocations/"+orig.ID).JSON(t, &detail)
	if detail.Event.Body != "42" {
		t.Fatalf("detail event = %+v", detail.Event)
	}
	// Replaying the same filter again finds nothing new to replay.
	resp = gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/replay", "", jsonType, []byte(`{"function":"pay","status":"failed"}`))
	resp.JSON(t, &out)
	if len(out.Replayed) != 0 {
		t.Fatalf("second replay by filter replayed %d", len(out.Replayed))
	}
	assertError(t, gt.Get(t, gw.AdminURL+"/admin/invocations?status=weird"), 400, "INVALID_REQUEST")
}

// killedMidRun queues an invocation of the stack's async route /job
// (function job) with body, lets a worker start it (counting the run in
// runs) and kills that worker mid-run: its connection drops with the
// invocation unacknowledged. It returns the invocation id.
func killedMidRun(t *testing.T, s *gt.Stack, gw *gt.Gateway, runs *atomic.Int64, body string) string {
	t.Helper()
	started := make(chan struct{}, 1)
	hang := make(chan struct{})
	first := s.Worker(worker.Config{}, map[string]sdk.Handler{
		"job": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			runs.Add(1)
			started <- struct{}{}
			<-hang // a worker that never finishes: it is killed below
			return "zombie", nil
		}),
	})
	// Registered after the worker's: runs before its drain, which waits
	// for the abandoned handler.
	t.Cleanup(func() { close(hang) })
	id := acceptOK(t, gw.URL+"/job", nil, body)
	testenv.Recv(t, started, 10*time.Second, "the first worker started the job")
	s.KillWorker(first)
	return id
}
