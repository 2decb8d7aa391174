package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// sse is a Go function that streams server-sent events "data: 1" to
// "data: n", one every gap. It counts what it emitted and notes when its
// stream's context ended.
type sse struct {
	n         int
	gap       time.Duration
	delay     time.Duration // before the first event
	failAt    int           // return an error instead of this event (0: never)
	size      int           // the events' data is this many bytes (0: the number)
	emitted   atomic.Int64
	cancelled chan time.Time
}

func newSSE(n int, gap time.Duration) *sse {
	return &sse{n: n, gap: gap, cancelled: make(chan time.Time, 1)}
}

func (f *sse) Invoke(ctx context.Context, ev *sdk.Event) (any, error) {
	return sdk.Stream(http.StatusOK, http.Header{"Content-Type": {"text/event-stream"}}, func(ctx context.Context, w io.Writer) error {
		if !sleep(ctx, f.delay) {
			f.cancelled <- time.Now()
			return ctx.Err()
		}
		for i := 1; i <= f.n; i++ {
			if i == f.failAt {
				return errors.New("the model went away")
			}
			var err error
			if f.size > 0 {
				_, err = w.Write(make([]byte, f.size))
			} else {
				_, err = fmt.Fprintf(w, "data: %d\n\n", i)
			}
			if err != nil {
				f.cancelled <- time.Now()
				return err
			}
			f.emitted.Store(int64(i))
			if !sleep(ctx, f.gap) {
				f.cancelled <- time.Now()
				return ctx.Err()
			}
		}
		return nil
	}), nil
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sseStack serves fn at /events (route rt's options apply).
func sseStack(t *testing.T, rt route.Route, fn sdk.Handler) *gt.Gateway {
	t.Helper()
	s := gt.New(t, rt)
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, map[string]sdk.Handler{rt.Function: fn})
	return gw
}

func eventsRoute() route.Route { return r("*", "/events", "events") }

// streamsEnded waits until gw counts one stream that ended so
// (fngate_gateway_streams_total).
func streamsEnded(t *testing.T, gw *gt.Gateway, end string) {
	t.Helper()
	want := `fngate_gateway_streams_total{end="` + end + `"} 1`
	testenv.Eventually(t, 10*time.Second, want, func() bool {
		return strings.Contains(string(gt.Get(t, gw.AdminURL+"/metrics").Body), want)
	})
}

// An SSE function emitting 20 events 100 ms apart: the client gets each
// as it is emitted (the first long before the function emitted the
// last), in order, chunked, then a clean end.
func TestStreamSSE(t *testing.T) {
	t.Parallel()
	fn := newSSE(20, 100*time.Millisecond)
	gw := sseStack(t, eventsRoute(), fn)
	s := gt.OpenStream(t, "GET", gw.URL+"/events", nil, nil)
	if s.StatusCode != 200 || s.Header.Get("Content-Type") != "text/event-stream" || !s.Chunked() || s.Header.Get("X-Request-Id") == "" {
		t.Fatalf("head = %d %v %v", s.StatusCode, s.Header, s.TransferEncoding)
	}
	data, first, err := s.Event()
	if err != nil || data != "1" {
		t.Fatalf("first event = %q, %v", data, err)
	}
	if n := fn.emitted.Load(); n >= 20 {
		t.Fatalf("the first event came after the function emitted all %d: buffered, not streamed", n)
	}
	at := append([]time.Time{first}, s.Events(t, 2, 20)...)
	if _, _, err := s.Event(); err != io.EOF {
		t.Fatalf("after the last event: %v, want a clean end", err)
	}
	t.Logf("arrivals (first after the request, then gaps) %s", s.Gaps(at))
	streamsEnded(t, gw, "complete")
}

// A client that disconnects after 3 events: the function's stream
// context ends soon after (the gateway tells its worker).
func TestStreamClientDisconnect(t *testing.T) {
	t.Parallel()
	fn := newSSE(1000, 100*time.Millisecond)
	gw := sseStack(t, eventsRoute(), fn)
	s := gt.OpenStream(t, "GET", gw.URL+"/events", nil, nil)
	s.Events(t, 1, 3)
	left := time.Now()
	_ = s.Body.Close()
	select {
	case at := <-fn.cancelled:
		t.Logf("the function saw the cancel %s after the client left (%d events emitted)", at.Sub(left), fn.emitted.Load())
	case <-time.After(10 * time.Second):
		t.Fatalf("the function saw no cancel 10 s after the client left; emitted %d", fn.emitted.Load())
	}
	streamsEnded(t, gw, "client_gone")
}

// A stream silent longer than the route's streamIdleTimeout is cut short
// and its function cancelled; one too slow to start gets 504.
func TestStreamIdleTimeout(t *testing.T) {
	t.Parallel()
	rt := eventsRoute()
	rt.StreamIdleTimeout = route.Duration(300 * time.Millisecond)
	rt.Timeout = route.Duration(time.Second)
	fn := newSSE(3, 20*time.Second)
	gw := sseStack(t, rt, fn)
	s := gt.OpenStream(t, "GET", gw.URL+"/events", nil, nil)
	s.Events(t, 1, 1)
	if _, _, err := s.Event(); err == nil || err == io.EOF {
		t.Fatalf("after the silence: %v, want the response cut short", err)
	}
	select {
	case <-fn.cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the silent function was not cancelled")
	}

	// The route's timeout bounds the time to the first byte.
	late := newSSE(1, 0)
	late.delay = 5 * time.Second
	rt2 := r("*", "/late", "late")
	rt2.Timeout = route.Duration(500 * time.Millisecond)
	gw2 := sseStack(t, rt2, late)
	assertError(t, gt.Get(t, gw2.URL+"/late"), http.StatusGatewayTimeout, "TIMEOUT")
	select {
	case <-late.cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the late function was not cancelled")
	}
}

// A function failing mid-stream cuts the response short after what it
// wrote; failing before its first byte, the client gets the usual 502.
func TestStreamError(t *testing.T) {
	t.Parallel()
	fn := newSSE(5, 10*time.Millisecond)
	fn.failAt = 3
	gw := sseStack(t, eventsRoute(), fn)
	s := gt.OpenStream(t, "GET", gw.URL+"/events", nil, nil)
	s.Events(t, 1, 2)
	if _, _, err := s.Event(); err == nil || err == io.EOF {
		t.Fatalf("after the error: %v, want the response cut short", err)
	}

	early := newSSE(5, 0)
	early.failAt = 1
	gw2 := sseStack(t, r("*", "/early", "early"), early)
	assertError(t, gt.Get(t, gw2.URL+"/early"), http.StatusBadGateway, "FUNCTION_ERROR")
	streamsEnded(t, gw, "cut_short")
	streamsEnded(t, gw2, "failed")
}

// Streams are sync only: an async invocation of a streaming function
// records the concatenated body (capped), and a call with an
// Idempotency-Key or one that may fall back to 202 gets the whole
// response.
func TestStreamCollected(t *testing.T) {
	t.Parallel()
	gw := sseStack(t, eventsRoute(), newSSE(3, 10*time.Millisecond))
	const all = "data: 1\n\ndata: 2\n\ndata: 3\n\n"
	id := acceptOK(t, gw.URL+"/events", asyncHeader, "")
	inv := waitStatus(t, gw, id, record.StatusSucceeded, 20*time.Second)
	if inv.Result == nil || inv.Result.StatusCode != 200 || inv.Result.Body != all || http.Header(inv.Result.Headers).Get("Content-Type") != "text/event-stream" {
		t.Fatalf("async record = %+v, result %+v", inv, inv.Result)
	}
	for range 2 {
		resp := gt.Do(t, "GET", gw.URL+"/events", "", key("stream-1"), nil)
		if resp.Status != 200 || string(resp.Body) != all || resp.Header.Get("Content-Length") != strconv.Itoa(len(all)) {
			t.Fatalf("keyed call = %d %q %v", resp.Status, resp.Body, resp.Header)
		}
	}

	// A caller that may get 202 instead takes it whole too.
	if resp := gt.Do(t, "GET", gw.URL+"/events", "", preferAsync("5"), nil); resp.Status != 200 || string(resp.Body) != all {
		t.Fatalf("call with Prefer: respond-async = %d %q", resp.Status, resp.Body)
	}

	// Beyond the result limit (64 KiB): the record is truncated, the keyed
	// caller still gets it all.
	bulk := newSSE(10, 0)
	bulk.size = 20 << 10
	gw2 := sseStack(t, r("*", "/bulk", "bulk"), bulk)
	inv = waitStatus(t, gw2, acceptOK(t, gw2.URL+"/bulk", asyncHeader, ""), record.StatusSucceeded, 20*time.Second)
	if inv.Result == nil || !inv.Result.Truncated || len(inv.Result.Body) != 64<<10 {
		t.Fatalf("async record of 200 KiB: %+v", inv.Result)
	}
	if resp := gt.Do(t, "GET", gw2.URL+"/bulk", "", key("bulk-1"), nil); resp.Status != 200 || len(resp.Body) != 10*20<<10 {
		t.Fatalf("keyed call = %d, %d bytes", resp.Status, len(resp.Body))
	}
}

// A client that stops reading stops the producer: its writes wait for
// credit instead of piling up in the gateway or the worker.
func TestStreamStalledClient(t *testing.T) {
	t.Parallel()
	const mb, n = 1 << 20, 40
	fn := newSSE(n, 0)
	fn.size = mb
	gw := sseStack(t, eventsRoute(), fn)
	s := gt.OpenStream(t, "GET", gw.URL+"/events", nil, nil)
	// Wait until the producer stands still.
	var last int64 = -1
	testenv.Eventually(t, 20*time.Second, "the producer stalls", func() bool {
		time.Sleep(300 * time.Millisecond) // one observation window
		now := fn.emitted.Load()
		stalled := now == last
		last = now
		return stalled
	})
	if last >= n/2 {
		t.Fatalf("with the client not reading, the function wrote %d MB of %d", last, n)
	}
	t.Logf("stalled after %d MB written (credits, TCP buffers)", last)
	got, err := io.Copy(io.Discard, s)
	if err != nil || got != n*mb {
		t.Fatalf("read %d bytes, %v; want %d", got, err, n*mb)
	}
}
