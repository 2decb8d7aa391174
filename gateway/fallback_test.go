package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// preferAsync asks for 202 after wait seconds (RFC 7240).
func preferAsync(wait string) http.Header {
	return http.Header{"Prefer": {"respond-async, wait=" + wait}}
}

// fellBack checks a 202 of a call that outlived its wait and returns its
// invocation id; preferred: the caller asked (Preference-Applied).
func fellBack(t *testing.T, resp *gt.Response, preferred bool) string {
	t.Helper()
	var a struct{ InvocationID, Status string }
	resp.JSON(t, &a)
	applied := resp.Header.Get("Preference-Applied")
	if resp.Status != 202 || a.Status != "running" || a.InvocationID == "" || resp.Header.Get("Location") != "/invocations/"+a.InvocationID ||
		resp.Header.Get("X-Invocation-Id") != a.InvocationID || (applied == "respond-async") != preferred {
		t.Fatalf("fallback = %d %s %v", resp.Status, resp.Body, resp.Header)
	}
	return a.InvocationID
}

// slowRoute is /slow with a 10s timeout, whose calls may fall back.
func slowRoute(fallbackAfter time.Duration) route.Route {
	rt := r("*", "/slow", "slow")
	rt.Timeout = route.Duration(10 * time.Second)
	rt.FallbackAfter = route.Duration(fallbackAfter)
	return rt
}

// A 3s function called with wait=1: 202 after about a second, the record
// running at once, then succeeded with the function's answer.
func TestFallbackAfterWait(t *testing.T) {
	t.Parallel()
	slow := &counter{pause: 3 * time.Second}
	_, gw := counterStack(t, slowRoute(0), slow)
	start := time.Now()
	resp := gt.Do(t, "POST", gw.URL+"/slow", "", preferAsync("1"), []byte(`{"n":1}`))
	took := time.Since(start)
	id := fellBack(t, resp, true)
	if inv := publicRecord(t, gw, id); inv.Status != record.StatusRunning || inv.Mode != route.ModeSync {
		t.Fatalf("record right after the 202: %+v", inv)
	}
	inv := waitStatus(t, gw, id, record.StatusSucceeded, 10*time.Second)
	if inv.Result == nil || inv.Result.StatusCode != 201 || !strings.Contains(inv.Result.Body, `"run":1`) || inv.Attempts != 1 {
		t.Fatalf("record = %+v, result %+v", inv, inv.Result)
	}
	if n := slow.runs.Load(); n != 1 {
		t.Fatalf("the function ran %d times", n)
	}
	// The operators' view shows it like any other invocation.
	if d := adminRecord(t, gw, id); d.Mode != route.ModeSync || d.Status != record.StatusSucceeded || d.Event.Body != `{"n":1}` {
		t.Fatalf("admin record = %+v, event %+v", d.Invocation, d.Event)
	}
	t.Logf("202 after %s", took)
}

// A 0.2s function called with wait=1 answers directly.
func TestFallbackInTime(t *testing.T) {
	t.Parallel()
	_, gw := counterStack(t, slowRoute(0), &counter{pause: 200 * time.Millisecond})
	resp := gt.Do(t, "POST", gw.URL+"/slow", "", preferAsync("1"), []byte(`{}`))
	if resp.Status != 201 || resp.Header.Get("Location") != "" || resp.Header.Get("Preference-Applied") != "" {
		t.Fatalf("in time = %d %s %v", resp.Status, resp.Body, resp.Header)
	}
}

// A route's fallbackAfter applies without any Prefer; the caller's wait
// overrides it.
func TestFallbackAfterRoute(t *testing.T) {
	t.Parallel()
	_, gw := counterStack(t, slowRoute(500*time.Millisecond), &counter{pause: 1500 * time.Millisecond})
	id := fellBack(t, gt.Do(t, "POST", gw.URL+"/slow", "", nil, []byte(`{}`)), false)
	waitStatus(t, gw, id, record.StatusSucceeded, 10*time.Second)
	// respond-async without a wait takes the route's.
	fellBack(t, gt.Do(t, "POST", gw.URL+"/slow", "", http.Header{"Prefer": {"respond-async"}}, []byte(`{}`)), true)
	// A caller's wait longer than the function: the answer itself.
	if resp := gt.Do(t, "POST", gw.URL+"/slow", "", preferAsync("3"), []byte(`{}`)); resp.Status != 201 {
		t.Fatalf("wait=3 = %d %s", resp.Status, resp.Body)
	}
}

// Preferences fngate does not know, and waits that are not positive
// seconds, are ignored (RFC 7240 section 2): the call is an ordinary one.
func TestFallbackPreferIgnored(t *testing.T) {
	t.Parallel()
	_, gw := counterStack(t, slowRoute(0), &counter{pause: 1500 * time.Millisecond})
	for _, prefer := range []string{"wait=1", "respond-async, wait=abc", "respond-async, wait=-1", "respond-async, wait=0", "return=minimal", "respond-async, wait=99999999999999999999", ", ;=,"} {
		t.Run(prefer, func(t *testing.T) {
			t.Parallel()
			resp := gt.Do(t, "POST", gw.URL+"/slow", "", http.Header{"Prefer": {prefer}}, []byte(`{}`))
			if resp.Status != 201 {
				t.Fatalf("Prefer %q = %d %s", prefer, resp.Status, resp.Body)
			}
		})
	}
	// A wait as long as the route's timeout cannot fall back: it times out.
	if resp := gt.Do(t, "POST", gw.URL+"/slow", "", preferAsync("10"), []byte(`{}`)); resp.Status != 201 {
		t.Fatalf("wait=10 = %d %s", resp.Status, resp.Body)
	}
}

// With an Idempotency-Key, a retry during the run gets the same 202, and
// after it the stored result; the function runs once.
func TestFallbackIdempotent(t *testing.T) {
	t.Parallel()
	slow := &counter{pause: 2500 * time.Millisecond}
	_, gw := counterStack(t, slowRoute(0), slow)
	h := preferAsync("1")
	h.Set("Idempotency-Key", "order-7")
	id := fellBack(t, gt.Do(t, "POST", gw.URL+"/slow", "", h, []byte(`{"n":7}`)), true)
	again := gt.Do(t, "POST", gw.URL+"/slow", "", h, []byte(`{"n":7}`))
	if fellBack(t, again, true) != id || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry during the run = %d %s %v", again.Status, again.Body, again.Header)
	}
	waitStatus(t, gw, id, record.StatusSucceeded, 10*time.Second)
	var after *gt.Response
	testenv.Eventually(t, 5*time.Second, "the key holding the result", func() bool {
		after = gt.Do(t, "POST", gw.URL+"/slow", "", h, []byte(`{"n":7}`))
		return after.Status != 202
	})
	if after.Status != 201 || !strings.Contains(string(after.Body), `"run":1`) || after.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry after the run = %d %s %v", after.Status, after.Body, after.Header)
	}
	if n := slow.runs.Load(); n != 1 {
		t.Fatalf("the function ran %d times", n)
	}
}

// A call that fails after its wait is recorded dead with its code.
func TestFallbackFailure(t *testing.T) {
	t.Parallel()
	id, gw := fallenBackWith(t, func() (any, error) { return nil, errors.New("out of stock") })
	inv := waitStatus(t, gw, id, record.StatusDead, 10*time.Second)
	if inv.Error == nil || inv.Error.Code != event.CodeFunctionError {
		t.Fatalf("record = %+v error %+v", inv, inv.Error)
	}
	if d := adminRecord(t, gw, id); !strings.Contains(d.Error, "out of stock") {
		t.Fatalf("admin record = %+v", d.Invocation)
	}
}

// A 429 after the wait is a failure, as on the async path.
func TestFallbackTooManyRequests(t *testing.T) {
	t.Parallel()
	id, gw := fallenBackWith(t, func() (any, error) {
		return &event.Response{StatusCode: http.StatusTooManyRequests, Body: "later"}, nil
	})
	inv := waitStatus(t, gw, id, record.StatusDead, 10*time.Second)
	if inv.Error == nil || inv.Error.Code != record.CodeFunctionStatus {
		t.Fatalf("record = %+v error %+v", inv, inv.Error)
	}
}

// fallenBackWith calls /slow, whose function works 1.5 s and then
// answers what answer returns, with wait=1, and returns the id of the
// 202 and the gateway.
func fallenBackWith(t *testing.T, answer func() (any, error)) (string, *gt.Gateway) {
	t.Helper()
	s := gt.New(t, slowRoute(0))
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, map[string]sdk.Handler{"slow": sdk.HandlerFunc(func(ctx context.Context, _ *event.Event) (any, error) {
		time.Sleep(1500 * time.Millisecond) // the work
		return answer()
	})})
	return fellBack(t, gt.Do(t, "POST", gw.URL+"/slow", "", preferAsync("1"), nil), true), gw
}

// A fallen-back call is stored as an async invocation is: a caller's
// preference is ignored on a route that refuses async calls, and any
// fallback is off for a body above FNGATE_ASYNC_MAX_BODY (the caller
// waits for the function); a route's own fallbackAfter holds.
func TestFallbackBounded(t *testing.T) {
	t.Parallel()
	no := false
	noAsync := slowRoute(0)
	noAsync.AllowAsync = &no
	own := slowRoute(500 * time.Millisecond)
	own.Path, own.AllowAsync = "/own", &no
	s := gt.New(t, noAsync, own)
	gw := s.Gateway(gateway.Config{AsyncMaxBody: 1024})
	s.Worker(worker.Config{}, map[string]sdk.Handler{"slow": &counter{pause: 1500 * time.Millisecond}})
	if resp := gt.Do(t, "POST", gw.URL+"/slow", "", preferAsync("1"), []byte(`{}`)); resp.Status != 201 {
		t.Fatalf("Prefer on an allowAsync: false route = %d %s", resp.Status, resp.Body)
	}
	fellBack(t, gt.Do(t, "POST", gw.URL+"/own", "", nil, []byte(`{}`)), false)
	if resp := gt.Do(t, "POST", gw.URL+"/own", "", nil, []byte(strings.Repeat("x", 2048))); resp.Status != 201 {
		t.Fatalf("a body above FNGATE_ASYNC_MAX_BODY = %d %s", resp.Status, resp.Body)
	}
}

// A fallen-back call that no worker takes into the record (the one that
// got it died before the wait's end) is leased by the gateway's record:
// it reads dead once the call's deadline and the settle time pass, not
// running for the record's lifetime. Cancelling it is refused: nothing
// can stop a synchronous call.
func TestFallbackUntaken(t *testing.T) {
	t.Parallel()
	s := gt.New(t, slowRoute(0))
	gw := s.Gateway(gateway.Config{})
	// A "worker" that takes the request and never answers nor records it.
	nc, err := nats.Connect(s.NATS.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	subj, _ := subject.Invoke("slow")
	queue, _ := subject.QueueGroup("slow")
	if _, err := nc.QueueSubscribe(subj, queue, func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	id := fellBack(t, gt.Do(t, "POST", gw.URL+"/slow", "", preferAsync("1"), []byte(`{}`)), true)
	d := adminRecord(t, gw, id)
	want := sent.Add(10*time.Second + 2*time.Minute)
	if d.Status != record.StatusRunning || d.LeaseUntil == nil || d.LeaseUntil.Before(want.Add(-5*time.Second)) || d.LeaseUntil.After(want.Add(5*time.Second)) {
		t.Fatalf("record of an untaken fallback = %+v, lease %v, want about %v", d.Invocation, d.LeaseUntil, want)
	}
	assertError(t, gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/cancel", "", nil, nil), http.StatusConflict, "INVOCATION_NOT_CANCELLABLE")
}
