package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
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

// giveUp sends a keyed POST whose client gives up after 100ms, either by
// cancelling its context or by its own http.Client timeout, and expects no
// answer.
func giveUp(t *testing.T, how, url, k string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := gt.Client
	switch how {
	case "context":
		time.AfterFunc(100*time.Millisecond, cancel)
	case "client-timeout":
		client = &http.Client{Timeout: 100 * time.Millisecond}
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Idempotency-Key", k)
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the call was answered (%d) before the client gave up", resp.StatusCode)
	}
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		var ne interface{ Timeout() bool }
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("client error %v", err)
		}
	}
}

// A client that gives up while its function runs does not free the key:
// the gateway waits for the reply and stores it, and the retry replays it.
func TestIdempotencyClientGivesUp(t *testing.T) {
	t.Parallel()
	pay := &counter{pause: 300 * time.Millisecond}
	_, gw := counterStack(t, r("*", "/pay", "pay"), pay)
	for i, how := range []string{"context", "client-timeout"} {
		k := "order-" + how
		start := time.Now()
		giveUp(t, how, gw.URL+"/pay", k, []byte(`{"amount":5}`))
		// The client's own retry delay: part of the scenario, not a wait
		// for a state.
		time.Sleep(time.Until(start.Add(1200 * time.Millisecond)))
		resp := gt.Do(t, "POST", gw.URL+"/pay", "", key(k), []byte(`{"amount":5}`))
		if resp.Status != 201 || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("%s: retry = %d %s %v", how, resp.Status, resp.Body, resp.Header)
		}
		if n := pay.runs.Load(); n != int64(i+1) {
			t.Fatalf("%s: the function ran %d times for %d keys", how, n, i+1)
		}
	}
}

// The gateway's own 504 (route timeout shorter than the function) does not
// free the key either: the reply that comes after it is stored, and a
// retry replays it instead of running the function again.
func TestIdempotencyGatewayTimeout(t *testing.T) {
	t.Parallel()
	s := gt.New(t,
		route.Route{Domain: "*", Path: "/pay", Function: "pay", Timeout: route.Duration(100 * time.Millisecond)},
		route.Route{Domain: "*", Path: "/obey", Function: "obey", Timeout: route.Duration(100 * time.Millisecond)},
	)
	gw := s.Gateway(gateway.Config{})
	pay := &counter{pause: 300 * time.Millisecond} // ignores its deadline
	var obeyed atomic.Int64
	obey := sdk.HandlerFunc(func(ctx context.Context, _ *event.Event) (any, error) {
		obeyed.Add(1)
		<-ctx.Done() // stops at its deadline: a FUNCTION_TIMEOUT
		return nil, ctx.Err()
	})
	s.Worker(worker.Config{}, map[string]sdk.Handler{"pay": pay, "obey": obey})

	start := time.Now()
	assertError(t, gt.Do(t, "POST", gw.URL+"/pay", "", key("t1"), []byte("x")), 504, "TIMEOUT")
	time.Sleep(time.Until(start.Add(1200 * time.Millisecond))) // the client's retry delay
	resp := gt.Do(t, "POST", gw.URL+"/pay", "", key("t1"), []byte("x"))
	if resp.Status != 201 || resp.Header.Get("Idempotent-Replayed") != "true" || string(resp.Body) != `{"run":1,"body":"x"}` {
		t.Fatalf("retry after the gateway's 504 = %d %s %v", resp.Status, resp.Body, resp.Header)
	}
	if n := pay.runs.Load(); n != 1 {
		t.Fatalf("the function ran %d times", n)
	}

	// A function that stops at its deadline: its timeout is the outcome,
	// replayed, and it never runs again.
	assertError(t, gt.Do(t, "POST", gw.URL+"/obey", "", key("t2"), nil), 504, "TIMEOUT")
	// Its reply comes just after the gateway's own 504; until the key has
	// it, a retry is told 409 (the call is still running).
	testenv.Eventually(t, 5*time.Second, "the timeout stored", func() bool {
		resp = gt.Do(t, "POST", gw.URL+"/obey", "", key("t2"), nil)
		return resp.Status != 409
	})
	// (The replayed body names the request that ran, not the retry.)
	if resp.Status != 504 || resp.ErrorCode() != "TIMEOUT" || resp.Header.Get("Idempotent-Replayed") != "true" || obeyed.Load() != 1 {
		t.Fatalf("retry after a function timeout = %d %s %v, runs %d", resp.Status, resp.Body, resp.Header, obeyed.Load())
	}
}

// A stored Set-Cookie is replayed only within the caller's own scope.
func TestIdempotencySetCookieScope(t *testing.T) {
	t.Parallel()
	s := gt.New(t,
		r("*", "/shared", "login"),
		route.Route{Domain: "*", Path: "/mine", Function: "login", Idempotency: &route.Idempotency{ScopeByCaller: true}},
	)
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, map[string]sdk.Handler{"login": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
		return &event.Response{StatusCode: 200, Headers: map[string]string{"set-cookie": "session=secret; HttpOnly", "X-Kept": "1"}, Body: "welcome"}, nil
	})})
	alice := http.Header{"Idempotency-Key": {"c1"}, "Authorization": {"Bearer alice"}}
	anon := key("c1")
	for _, c := range []struct {
		path   string
		h      http.Header
		replay bool // whether the replay may carry the cookie
	}{
		{"/shared", alice, false}, // scope: the key alone, shared by every caller
		{"/mine", anon, false},    // per caller, but no caller identity
		{"/mine", alice, true},    // per caller: alice's own response
	} {
		first := gt.Do(t, "POST", gw.URL+c.path, "", c.h, nil)
		if first.Header.Get("Set-Cookie") == "" {
			t.Fatalf("%s: the first caller did not get its cookie: %v", c.path, first.Header)
		}
		again := gt.Do(t, "POST", gw.URL+c.path, "", c.h, nil)
		if again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("X-Kept") != "1" || string(again.Body) != "welcome" {
			t.Fatalf("%s: replay = %d %s %v", c.path, again.Status, again.Body, again.Header)
		}
		if got := again.Header.Get("Set-Cookie") != ""; got != c.replay {
			t.Errorf("%s (Authorization %q): replayed Set-Cookie = %v, want %v", c.path, c.h.Get("Authorization"), got, c.replay)
		}
	}
}
