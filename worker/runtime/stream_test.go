package runtime

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	recs "github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// sseStack serves the sse fixture (a Node function that streams) at
// /sse through a real gateway and worker; rt's options apply.
func sseStack(t *testing.T, rt route.Route) (*gt.Gateway, *recorder) {
	t.Helper()
	run, rec := startFixtures(t, Config{}, "sse")
	rt.Domain, rt.Path, rt.Function = "*", "/sse", "sse"
	s := gt.New(t, rt)
	s.Worker(worker.Config{Concurrency: run.Concurrency()}, map[string]sdk.Handler{"sse": run.Handler("sse")})
	return s.Gateway(gateway.Config{}), rec
}

func logged(rec *recorder, prefix string) (record, bool) {
	return rec.find(func(r record) bool { return strings.HasPrefix(r.Msg, prefix) })
}

// A Node function returning an async generator (or a Readable) streams
// 20 server-sent events 100 ms apart: the client gets each as it is
// emitted (the first before the function emitted the last), in order,
// chunked, then a clean end.
func TestNodeStreamSSE(t *testing.T) {
	t.Parallel()
	gw, rec := sseStack(t, route.Route{})
	emitted := func() int { return rec.count(func(r record) bool { return strings.HasPrefix(r.Msg, "emit ") }) }
	for _, q := range []string{"", "?readable=1"} {
		before := emitted()
		s := gt.OpenStream(t, "GET", gw.URL+"/sse"+q, nil, nil)
		if s.StatusCode != 200 || s.Header.Get("Content-Type") != "text/event-stream" || !s.Chunked() {
			t.Fatalf("%s: head = %d %v %v", q, s.StatusCode, s.Header, s.TransferEncoding)
		}
		at := s.Events(t, 1, 1)
		if n := emitted() - before; n >= 20 {
			t.Fatalf("%s: the first event came after the function emitted all %d: buffered, not streamed", q, n)
		}
		at = append(at, s.Events(t, 2, 20)...)
		if _, _, err := s.Event(); err != io.EOF {
			t.Fatalf("%s: after the last event: %v, want a clean end", q, err)
		}
		t.Logf("%s arrivals (first after the request, then gaps) %s", q, s.Gaps(at))
	}
}

// A client that disconnects after 3 events: context.signal aborts in the
// function's process soon after.
func TestNodeStreamDisconnect(t *testing.T) {
	t.Parallel()
	gw, rec := sseStack(t, route.Route{})
	s := gt.OpenStream(t, "GET", gw.URL+"/sse?n=1000", nil, nil)
	s.Events(t, 1, 3)
	left := time.Now()
	_ = s.Body.Close()
	var r record
	testenv.Eventually(t, 10*time.Second, "context.signal aborted", func() bool {
		var ok bool
		r, ok = logged(rec, "aborted after ")
		return ok
	})
	t.Logf("the function saw the cancel %s after the client left: %q", r.Time.Sub(left), r.Msg)
}

// A Node stream failing mid-way, or silent longer than the route's
// streamIdleTimeout, is cut short after what it sent; the silent one's
// context.signal aborts.
func TestNodeStreamCutShort(t *testing.T) {
	t.Parallel()
	gw, rec := sseStack(t, route.Route{StreamIdleTimeout: route.Duration(300 * time.Millisecond)})
	for _, q := range []string{"?fail=3&gap=10", "?gap=20000"} {
		s := gt.OpenStream(t, "GET", gw.URL+"/sse"+q, nil, nil)
		s.Events(t, 1, 1)
		if q == "?fail=3&gap=10" {
			s.Events(t, 2, 2)
		}
		if _, _, err := s.Event(); err == nil || err == io.EOF {
			t.Fatalf("%s: %v, want the response cut short", q, err)
		}
	}
	testenv.Eventually(t, 10*time.Second, "the silent function's signal aborted", func() bool {
		_, ok := logged(rec, "aborted after 1")
		return ok
	})
}

// An async invocation of a streaming Node function records the
// concatenated body.
func TestNodeStreamAsync(t *testing.T) {
	t.Parallel()
	gw, _ := sseStack(t, route.Route{})
	var a struct{ InvocationID string }
	gt.Do(t, "POST", gw.URL+"/sse?n=3&gap=10", "", map[string][]string{"X-Invocation-Type": {"async"}}, nil).JSON(t, &a)
	var inv recs.PublicInvocation
	testenv.Eventually(t, 20*time.Second, "the invocation succeeded", func() bool {
		gt.Get(t, gw.URL+"/invocations/"+a.InvocationID).JSON(t, &inv)
		return inv.Status == recs.StatusSucceeded
	})
	if inv.Result == nil || inv.Result.Body != "data: 1\n\ndata: 2\n\ndata: 3\n\n" {
		t.Fatalf("record = %+v, result %+v", inv, inv.Result)
	}
}

// A stream counts as a call of its function while it runs: under
// MaxProcs 1 another function's call waits for room (and times out here)
// instead of evicting the process that is sending the stream.
func TestNodeStreamKeepsProcess(t *testing.T) {
	t.Parallel()
	run, _ := startFixtures(t, Config{MaxProcs: 1}, "sse", "echo")
	s := gt.New(t, route.Route{Domain: "*", Path: "/sse", Function: "sse"},
		route.Route{Domain: "*", Path: "/echo", Function: "echo", Timeout: route.Duration(time.Second)})
	s.Worker(worker.Config{Concurrency: run.Concurrency()}, map[string]sdk.Handler{"sse": run.Handler("sse"), "echo": run.Handler("echo")})
	gw := s.Gateway(gateway.Config{})
	st := gt.OpenStream(t, "GET", gw.URL+"/sse?n=25", nil, nil)
	st.Events(t, 1, 2)
	if r := gt.Get(t, gw.URL+"/echo"); r.Status != 504 {
		t.Fatalf("the other function's call = %d %s, want 504 (no room while the stream runs)", r.Status, r.Body)
	}
	st.Events(t, 3, 25)
	if _, _, err := st.Event(); err != io.EOF {
		t.Fatalf("after the last event: %v, want a clean end", err)
	}
}
