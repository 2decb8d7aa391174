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
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// sse is a Go function that streams server-sent events "data: 1" to
// "data: n", one every gap. It counts what it emitted and notes when its
// stream's context ended.
type sse struct {
	n         int
	gap       time.Duration
	failAfter int // return an error after that many events (0: never)
	emitted   atomic.Int64
	cancelled chan time.Time
}

func newSSE(n int, gap time.Duration) *sse {
	return &sse{n: n, gap: gap, cancelled: make(chan time.Time, 1)}
}

func (f *sse) Invoke(ctx context.Context, ev *sdk.Event) (any, error) {
	return sdk.Stream(http.StatusOK, http.Header{"Content-Type": {"text/event-stream"}}, func(ctx context.Context, w io.Writer) error {
		for i := 1; i <= f.n; i++ {
			if f.failAfter > 0 && i > f.failAfter {
				return errors.New("the model went away")
			}
			if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
				f.cancelled <- time.Now()
				return err
			}
			f.emitted.Store(int64(i))
			t := time.NewTimer(f.gap)
			select {
			case <-ctx.Done():
				t.Stop()
				f.cancelled <- time.Now()
				return ctx.Err()
			case <-t.C:
			}
		}
		return nil
	}), nil
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

// readEvents reads events from to to of s, checking their order, and
// returns when each arrived.
func readEvents(t *testing.T, s *gt.Stream, from, to int) []time.Time {
	t.Helper()
	var at []time.Time
	for i := from; i <= to; i++ {
		data, when, err := s.Event()
		if err != nil || data != strconv.Itoa(i) {
			t.Fatalf("event %d = %q, %v", i, data, err)
		}
		at = append(at, when)
	}
	return at
}

// gaps describes arrival times for the log: the first after the request,
// then the gaps between events.
func gaps(sent time.Time, at []time.Time) string {
	var b strings.Builder
	prev := sent
	for _, a := range at {
		fmt.Fprintf(&b, " %d", a.Sub(prev).Milliseconds())
		prev = a
	}
	return "ms:" + b.String()
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
	at := append([]time.Time{first}, readEvents(t, s, 2, 20)...)
	if _, _, err := s.Event(); err != io.EOF {
		t.Fatalf("after the last event: %v, want a clean end", err)
	}
	t.Logf("arrivals (first after the request, then gaps) %s", gaps(s.Sent, at))
}
