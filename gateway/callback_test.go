package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// receiver is a callback target on loopback that counts what reaches it.
// Handlers that wait must also return once done is closed (before the
// server is closed at cleanup, which waits for them).
type receiver struct {
	*httptest.Server
	hits atomic.Int64
	done chan struct{}
}

func newReceiver(t *testing.T, h func(w http.ResponseWriter, r *http.Request, done <-chan struct{})) *receiver {
	t.Helper()
	done := make(chan struct{})
	r := &receiver{done: done}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		// Read it all first: a handler that waits then sees the
		// connection close (its context ends).
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		if h != nil {
			h(w, req, done)
		}
	}))
	t.Cleanup(r.Close)
	t.Cleanup(func() { close(r.done) })
	return r
}

// waitCallback polls the public record until its callback has an outcome.
func waitCallback(t *testing.T, gw *gt.Gateway, id string) (*record.PublicInvocation, string) {
	t.Helper()
	var inv *record.PublicInvocation
	var raw string
	testenv.Eventually(t, 30*time.Second, "callback outcome of "+id, func() bool {
		resp := gt.Get(t, gw.URL+"/invocations/"+id)
		raw = string(resp.Body)
		inv = &record.PublicInvocation{}
		resp.JSON(t, inv)
		return inv.Callback != nil
	})
	return inv, raw
}

// TestCallbackRefused: without FNGATE_CALLBACK_ALLOW, a callback to
// loopback (by address or by a name resolving to it) or to the cloud
// metadata address is refused when dialed: the listener gets nothing, the
// public record says CALLBACK_REFUSED and nothing of the dial error, and
// the refusal is not retried. The admin record keeps the text.
func TestCallbackRefused(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/echo", Function: "echo", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())
	rc := newReceiver(t, nil)
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	for _, url := range []string{
		rc.URL + "/hook",
		"http://localhost:" + port + "/hook",
		"http://[::ffff:127.0.0.1]:" + port + "/hook",
		"http://169.254.169.254/latest/meta-data/", // refused before connect(): nothing leaves the host
	} {
		id := acceptOK(t, gw.URL+"/echo", http.Header{"X-Callback-Url": {url}}, "hi")
		inv, raw := waitCallback(t, gw, id)
		if inv.Status != record.StatusSucceeded || inv.Callback.Status != "failed" || inv.Callback.Code != record.CodeCallbackRefused || inv.Callback.Attempts != 1 {
			t.Errorf("%s: record %s", url, raw)
		}
		// (The echo's result holds the URL: only the callback is checked
		// for addresses.)
		cb, _ := json.Marshal(inv.Callback)
		for _, leak := range []string{port, "127.0.0.1", "169.254"} {
			if strings.Contains(string(cb), leak) {
				t.Errorf("%s: public callback outcome shows %q: %s", url, leak, cb)
			}
		}
		for _, leak := range []string{"dial", "refused", "loopback", "link-local", "connect"} {
			if strings.Contains(raw, leak) {
				t.Errorf("%s: public record shows %q: %s", url, leak, raw)
			}
		}
		if adm := adminRecord(t, gw, id); adm.Callback == nil || !strings.Contains(adm.Callback.Error, "refused") {
			t.Errorf("%s: admin record lost the error: %+v", url, adm.Callback)
		}
	}
	if n := rc.hits.Load(); n != 0 {
		t.Fatalf("the loopback listener got %d callbacks", n)
	}
}

// TestCallbackNoRedirect: a callback answering a redirect fails with its
// status; the redirect's target is never called.
func TestCallbackNoRedirect(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/echo", Function: "echo", Mode: "async"})
	s.Async.CallbackAllow = []string{"127.0.0.0/8", "::1"}
	s.Async.CallbackAttempts = 2
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())
	target := newReceiver(t, nil)
	redirector := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		http.Redirect(w, r, target.URL+"/internal", http.StatusTemporaryRedirect)
	})
	id := acceptOK(t, gw.URL+"/echo", http.Header{"X-Callback-Url": {redirector.URL}}, "hi")
	inv, raw := waitCallback(t, gw, id)
	if inv.Callback.Status != "failed" || inv.Callback.Code != record.CodeCallbackHTTPStatus || inv.Callback.HTTPStatus != 307 || inv.Callback.Attempts != 2 {
		t.Fatalf("record %s", raw)
	}
	if target.hits.Load() != 0 || redirector.hits.Load() != 2 {
		t.Fatalf("redirect target got %d, redirector %d; want 0 and 2", target.hits.Load(), redirector.hits.Load())
	}
}

// TestCallbackTimeout: a callback that never answers fails with
// CALLBACK_TIMEOUT after the total timeout, each attempt.
func TestCallbackTimeout(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/echo", Function: "echo", Mode: "async"})
	s.Async.CallbackAllow = []string{"127.0.0.1"}
	s.Async.CallbackAttempts = 2
	s.Async.CallbackTimeout = 300 * time.Millisecond
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())
	rc := newReceiver(t, func(_ http.ResponseWriter, r *http.Request, done <-chan struct{}) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	id := acceptOK(t, gw.URL+"/echo", http.Header{"X-Callback-Url": {rc.URL}}, "hi")
	inv, raw := waitCallback(t, gw, id)
	if inv.Callback.Status != "failed" || inv.Callback.Code != record.CodeCallbackTimeout || inv.Callback.Attempts != 2 || rc.hits.Load() != 2 {
		t.Fatalf("record %s, %d hits", raw, rc.hits.Load())
	}
}

// TestCallbackOverflow: with one sender and a queue of one, callbacks
// beyond those two while the target is slow are recorded failed at once
// (CALLBACK_QUEUE_FULL) instead of waiting in goroutines; the target never
// sees more than one at a time, and the queued one is delivered.
func TestCallbackOverflow(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/echo", Function: "echo", Mode: "async"})
	s.Async.CallbackAllow = []string{"127.0.0.1"}
	s.Async.CallbackSenders, s.Async.CallbackQueue = 1, 1
	s.Async.CallbackTimeout = 30 * time.Second
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())
	release := make(chan struct{})
	var now, most atomic.Int64
	var mu sync.Mutex
	rc := newReceiver(t, func(_ http.ResponseWriter, r *http.Request, done <-chan struct{}) {
		n := now.Add(1)
		defer now.Add(-1)
		mu.Lock()
		most.Store(max(most.Load(), n))
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		case <-done:
		}
	})
	const n = 5
	ids := make([]string, n)
	for i := range ids {
		ids[i] = acceptOK(t, gw.URL+"/echo", http.Header{"X-Callback-Url": {rc.URL + "/" + strconv.Itoa(i)}}, "hi")
	}
	full := 0
	testenv.Eventually(t, 30*time.Second, "the callbacks beyond sender and queue dropped", func() bool {
		full = 0
		for _, id := range ids {
			if inv := publicRecord(t, gw, id); inv.Callback != nil && inv.Callback.Code == record.CodeCallbackQueueFull {
				full++
			}
		}
		return full >= n-2
	})
	close(release)
	delivered := 0
	testenv.Eventually(t, 30*time.Second, "the rest delivered", func() bool {
		delivered = 0
		for _, id := range ids {
			if inv := publicRecord(t, gw, id); inv.Callback != nil && inv.Callback.Status == "delivered" {
				delivered++
			}
		}
		return delivered+full == n
	})
	if most.Load() != 1 || delivered < 1 {
		t.Fatalf("%d callbacks at once (want 1), %d delivered, %d dropped", most.Load(), delivered, full)
	}
}
