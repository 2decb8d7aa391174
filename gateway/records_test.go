package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// TestPublicRecordShowsCodes: functions that fail with secrets and file
// paths in their error, that panic, or that answer 503 with a secret body:
// GET /invocations/<id> shows a code and a fixed text, never the text;
// the admin view keeps it. Every answer of /invocations/ is no-store.
func TestPublicRecordShowsCodes(t *testing.T) {
	t.Parallel()
	once := &route.Retry{MaxAttempts: 1}
	s := gt.New(t,
		route.Route{Domain: "*", Path: "/leaky", Function: "leaky", Mode: "async", Retry: once},
		route.Route{Domain: "*", Path: "/panicky", Function: "panicky", Mode: "async", Retry: once},
		route.Route{Domain: "*", Path: "/unwell", Function: "unwell", Mode: "async", Retry: once},
	)
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"leaky": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			return nil, errors.New("connect postgres://app:hunter2@10.0.0.7/db failed at /srv/app/billing.go:42")
		}),
		"panicky": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			panic("token=s3cr3t-token")
		}),
		"unwell": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			return &event.Response{StatusCode: 503, Body: "secret-body from /srv/app"}, nil
		}),
	})
	for _, tc := range []struct {
		path, code, message, adminHas string
		status                        int
	}{
		{"/leaky", event.CodeFunctionError, "the function failed", "hunter2", 0},
		{"/panicky", event.CodeFunctionError, "the function failed", "goroutine", 0},
		{"/unwell", record.CodeFunctionStatus, "the function answered 503", "secret-body", 503},
	} {
		id := acceptOK(t, gw.URL+tc.path, nil, "")
		waitStatus(t, gw, id, record.StatusDead, 20*time.Second)
		resp := gt.Get(t, gw.URL+"/invocations/"+id)
		var inv record.PublicInvocation
		resp.JSON(t, &inv)
		if inv.Error == nil || inv.Error.Code != tc.code || inv.Error.Message != tc.message || inv.Error.Status != tc.status ||
			len(inv.AttemptErrors) != 1 || inv.AttemptErrors[0].Code != tc.code || inv.AttemptErrors[0].Message != tc.message {
			t.Errorf("%s: public record %s", tc.path, resp.Body)
		}
		for _, leak := range []string{"hunter2", "postgres", "10.0.0.7", "/srv/app", ".go:", "s3cr3t", "goroutine", "panic:", "secret-body"} {
			if strings.Contains(string(resp.Body), leak) {
				t.Errorf("%s: public record shows %q: %s", tc.path, leak, resp.Body)
			}
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.path, cc)
		}
		adm := adminRecord(t, gw, id)
		if adm.ErrorCode != tc.code || !strings.Contains(adm.Error, tc.adminHas) || len(adm.AttemptErrors) != 1 || !strings.Contains(adm.AttemptErrors[0].Error, tc.adminHas) {
			t.Errorf("%s: admin record lost the details: code %q error %q", tc.path, adm.ErrorCode, adm.Error)
		}
	}
	// A callback target is told the code and the fixed text, too.
	s.Async.CallbackAllow = []string{"127.0.0.1"}
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"leaky2": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			return nil, errors.New("password hunter2 in /srv/app/billing.go:42")
		}),
	})
	bodies := make(chan []byte, 1)
	rc := newReceiver(t, func(_ http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
	})
	if err := s.Routes.Put(context.Background(), []route.Route{{Domain: "*", Path: "/leaky2", Function: "leaky2", Mode: "async", Retry: once}}); err != nil {
		t.Fatal(err)
	}
	gw2 := s.Gateway(gateway.Config{})
	acceptOK(t, gw2.URL+"/leaky2", http.Header{"X-Callback-Url": {rc.URL}}, "")
	select {
	case b := <-bodies:
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if m["status"] != record.StatusDead || m["errorCode"] != event.CodeFunctionError || m["error"] != "the function failed" ||
			strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "/srv/app") {
			t.Errorf("callback body %s", b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no callback")
	}

	// Errors are not cached either.
	for _, resp := range []*gt.Response{
		gt.Get(t, gw.URL+"/invocations/0123456789abcdef0123456789abcdef"),
		gt.Get(t, gw.URL+"/invocations/nope"),
		gt.Do(t, "POST", gw.URL+"/invocations/0123456789abcdef0123456789abcdef", "", nil, nil),
	} {
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" || resp.Status < 400 {
			t.Errorf("%d %s: Cache-Control %q", resp.Status, resp.Body, cc)
		}
	}
}

// TestInvocationIDValidated: ids that are not 32 lower-case hex characters
// (the form of record.NewInvocationID and record.ReplayID) are answered 400
// INVALID_INVOCATION_ID without a Redis lookup.
func TestInvocationIDValidated(t *testing.T) {
	t.Parallel()
	s := gt.New(t)
	gw := s.Gateway(gateway.Config{})
	rdb := s.Redis.Client()
	t.Cleanup(func() { _ = rdb.Close() })
	lookups := func() string {
		// HMGET is how records are read; nothing else on this Redis uses it.
		info, err := rdb.Info(context.Background(), "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(info, "\n") {
			if strings.HasPrefix(line, "cmdstat_hmget:") {
				return strings.SplitN(strings.TrimPrefix(line, "cmdstat_hmget:"), ",", 2)[0]
			}
		}
		return "calls=0"
	}
	before := lookups()
	for _, id := range []string{
		"x", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
		"0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcdeg",
		"..", "%20123456789abcdef0123456789abcdef", "*", "0123456789abcdef0123456789abcdef%00",
	} {
		assertError(t, gt.Get(t, gw.URL+"/invocations/"+id), 400, "INVALID_INVOCATION_ID")
	}
	if after := lookups(); after != before {
		t.Fatalf("invalid ids were looked up: hmget %s before, %s after", before, after)
	}
	// Both forms the system makes are valid (and unknown here).
	for _, id := range []string{record.NewInvocationID(), record.ReplayID(record.NewInvocationID())} {
		assertError(t, gt.Get(t, gw.URL+"/invocations/"+id), 404, "INVOCATION_NOT_FOUND")
	}
}

// TestStoredEventRedacted: an async call with credentials in its headers:
// the function receives them, the stored event (admin view) has
// "[redacted]" in their place, and a replay runs with the stored form.
// FNGATE_REDACT_HEADERS changes the list; "none" keeps everything.
func TestStoredEventRedacted(t *testing.T) {
	t.Parallel()
	s := gt.New(t,
		route.Route{Domain: "*", Path: "/job", Function: "seen", Mode: "async"},
		route.Route{Domain: "*", Path: "/pay", Function: "fails", RecordFailures: true},
		route.Route{Domain: "*", Path: "/deny", Function: "deny", Mode: "async", Retry: &route.Retry{MaxAttempts: 1}},
	)
	var mu sync.Mutex
	seen := map[string]map[string]string{} // body -> headers the function got
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"seen": sdk.HandlerFunc(func(_ context.Context, ev *event.Event) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			seen[ev.Body] = ev.Headers
			return "ok", nil
		}),
		"fails": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			return nil, errors.New("down")
		}),
		"deny": sdk.HandlerFunc(func(_ context.Context, ev *event.Event) (any, error) {
			if ev.Headers["authorization"] != "Bearer top-secret-token" {
				return nil, errors.New("the function did not get the credentials")
			}
			return nil, errors.New("denied")
		}),
	})
	creds := http.Header{
		"Authorization":       {"Bearer top-secret-token"},
		"Cookie":              {"session=cookie-secret"},
		"Proxy-Authorization": {"Basic proxy-secret"},
		"X-Api-Key":           {"api-secret"},
		"X-Other":             {"kept"},
	}
	got := func(body string) map[string]string {
		var h map[string]string
		testenv.Eventually(t, 10*time.Second, "the function ran "+body, func() bool {
			mu.Lock()
			defer mu.Unlock()
			h = seen[body]
			return h != nil
		})
		return h
	}

	gw := s.Gateway(gateway.Config{})
	id := acceptOK(t, gw.URL+"/job", creds, "default")
	if h := got("default"); h["authorization"] != "Bearer top-secret-token" || h["cookie"] != "session=cookie-secret" || h["proxy-authorization"] != "Basic proxy-secret" {
		t.Fatalf("the function got %v", h)
	}
	waitStatus(t, gw, id, record.StatusSucceeded, 10*time.Second)
	resp := gt.Get(t, gw.AdminURL+"/admin/invocations/"+id)
	for _, secret := range []string{"top-secret-token", "cookie-secret", "proxy-secret"} {
		if strings.Contains(string(resp.Body), secret) {
			t.Errorf("stored event shows %q: %s", secret, resp.Body)
		}
	}
	ev := adminRecord(t, gw, id).Event
	if ev.Headers["authorization"] != event.Redacted || ev.Headers["cookie"] != event.Redacted || ev.Headers["proxy-authorization"] != event.Redacted ||
		ev.Headers["x-api-key"] != "api-secret" || ev.Headers["x-other"] != "kept" {
		t.Errorf("stored headers %v", ev.Headers)
	}

	// A replay runs the stored event: the function gets the redacted form.
	var a struct{ InvocationID string }
	gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/replay", "", nil, nil).JSON(t, &a)
	waitStatus(t, gw, a.InvocationID, record.StatusSucceeded, 10*time.Second)
	if h := got("default"); h["authorization"] != event.Redacted || h["x-other"] != "kept" {
		t.Errorf("the replay got %v", h)
	}

	// A recorded sync failure keeps the redacted event too.
	assertError(t, gt.Do(t, "POST", gw.URL+"/pay", "", creds, []byte("42")), 502, "FUNCTION_ERROR")
	var page record.Page
	testenv.Eventually(t, 5*time.Second, "failed sync call recorded", func() bool {
		gt.Get(t, gw.AdminURL+"/admin/invocations?function=fails").JSON(t, &page)
		return len(page.Invocations) == 1
	})
	if ev := adminRecord(t, gw, page.Invocations[0].ID).Event; ev.Headers["authorization"] != event.Redacted || ev.Body != "42" {
		t.Errorf("recorded failure stored %v", ev.Headers)
	}

	// A dead letter keeps the redacted event too (the worker redacts the
	// list the gateway names in the message).
	id = acceptOK(t, gw.URL+"/deny", creds, "dead")
	waitStatus(t, gw, id, record.StatusDead, 10*time.Second)
	if adm := adminRecord(t, gw, id); !strings.HasSuffix(adm.AttemptErrors[0].Error, "denied") { // else the function lacked the credentials
		t.Errorf("deny failed with %q", adm.AttemptErrors[0].Error)
	}
	msg := lastDeadLetter(t, s, "deny")
	var letter struct{ Event event.Event }
	if err := json.Unmarshal(msg.Data, &letter); err != nil || letter.Event.Body != "dead" || letter.Event.Headers["authorization"] != event.Redacted ||
		letter.Event.Headers["cookie"] != event.Redacted || letter.Event.Headers["x-other"] != "kept" || strings.Contains(string(msg.Data), "top-secret") {
		t.Errorf("dead letter %s (%v)", msg.Data, err)
	}

	// Another list, and none.
	for _, tc := range []struct {
		list          []string
		apiKey, authz string
	}{
		{[]string{"x-api-key"}, event.Redacted, "Bearer top-secret-token"},
		{[]string{"none"}, "api-secret", "Bearer top-secret-token"},
	} {
		g := s.Gateway(gateway.Config{RedactHeaders: tc.list})
		id := acceptOK(t, g.URL+"/job", creds, strings.Join(tc.list, ","))
		got(strings.Join(tc.list, ","))
		waitStatus(t, g, id, record.StatusSucceeded, 10*time.Second)
		if ev := adminRecord(t, g, id).Event; ev.Headers["x-api-key"] != tc.apiKey || ev.Headers["authorization"] != tc.authz {
			t.Errorf("RedactHeaders %v: stored %v", tc.list, ev.Headers)
		}
	}
	if _, err := gateway.New(gateway.Config{RedactHeaders: []string{"bad header"}}, gateway.Deps{}); err == nil || !strings.Contains(err.Error(), "FNGATE_REDACT_HEADERS") {
		t.Errorf("an invalid header name was accepted: %v", err)
	}
}
