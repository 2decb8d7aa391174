package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// runLog records when each body ran, for functions whose runs a test counts.
type runLog struct {
	mu   sync.Mutex
	runs map[string][]time.Time
}

func (l *runLog) handler() sdk.Handler {
	return sdk.HandlerFunc(func(_ context.Context, ev *event.Event) (any, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.runs == nil {
			l.runs = map[string][]time.Time{}
		}
		l.runs[ev.Body] = append(l.runs[ev.Body], time.Now())
		return "ok", nil
	})
}

func (l *runLog) of(body string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.runs[body]...)
}

// acceptDelayed posts an async call with header h and returns its id and
// runAt; the 202 says scheduled.
func acceptDelayed(t *testing.T, url string, h http.Header, body string) (string, time.Time) {
	t.Helper()
	h = h.Clone()
	h.Set("X-Invocation-Type", "async")
	resp := gt.Do(t, "POST", url, "", h, []byte(body))
	var a struct {
		InvocationID, Status string
		RunAt                time.Time
	}
	resp.JSON(t, &a)
	if resp.Status != 202 || a.Status != record.StatusScheduled || a.InvocationID == "" || a.RunAt.IsZero() {
		t.Fatalf("delayed accept = %d %s", resp.Status, resp.Body)
	}
	return a.InvocationID, a.RunAt
}

// TestAsyncDelay: X-Invocation-Delay and X-Invocation-At hold an
// invocation in JetStream (status scheduled, with runAt, found by id
// right after the 202) until its time, then it runs once, within a
// second of it, even with the gateway that accepted it stopped and
// another one answering, and its worker killed and another started.
func TestAsyncDelay(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/d", "rec"))
	gw := s.Gateway(gateway.Config{})
	var log runLog
	w1 := s.Worker(worker.Config{}, map[string]sdk.Handler{"rec": log.handler()})

	id1, at1 := acceptDelayed(t, gw.URL+"/d", http.Header{"X-Invocation-Delay": {"3"}}, "delay")
	when := time.Now().Add(4 * time.Second).UTC().Truncate(time.Millisecond)
	id2, at2 := acceptDelayed(t, gw.URL+"/d", http.Header{"X-Invocation-At": {when.Format(time.RFC3339Nano)}}, "at")
	if !at2.Equal(when) {
		t.Fatalf("runAt %s, want %s", at2, when)
	}
	for _, id := range []string{id1, id2} {
		inv := publicRecord(t, gw, id)
		if inv.Status != record.StatusScheduled || inv.RunAt == nil || inv.Function != "rec" {
			t.Fatalf("right after the 202: %+v", inv)
		}
	}
	// The gateway that accepted them and the worker go; the schedule is
	// the server's.
	if err := gw.Stop(); err != nil {
		t.Fatal(err)
	}
	s.KillWorker(w1)
	gw2 := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, map[string]sdk.Handler{"rec": log.handler()})
	for _, c := range []struct {
		id, body string
		at       time.Time
	}{{id1, "delay", at1}, {id2, "at", at2}} {
		inv := waitStatus(t, gw2, c.id, record.StatusSucceeded, 15*time.Second)
		runs := log.of(c.body)
		if len(runs) != 1 || inv.Attempts != 1 {
			t.Fatalf("%s: %d runs, record %+v", c.body, len(runs), inv)
		}
		if d := runs[0].Sub(c.at); d < -time.Second || d > time.Second {
			t.Fatalf("%s ran %s from its runAt %s", c.body, d, c.at)
		}
		t.Logf("%s ran %s after its runAt", c.body, runs[0].Sub(c.at))
	}
}

// TestAsyncDelayInvalid: bad delay headers get 400 INVALID_DELAY and
// queue nothing.
func TestAsyncDelayInvalid(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/d", "echo"))
	gw := s.Gateway(gateway.Config{MaxDelay: time.Hour})
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	far := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	for _, h := range []http.Header{
		{"X-Invocation-Type": {"async"}, "X-Invocation-Delay": {"-5"}},
		{"X-Invocation-Type": {"async"}, "X-Invocation-Delay": {"-1s"}},
		{"X-Invocation-Type": {"async"}, "X-Invocation-Delay": {"soon"}},
		{"X-Invocation-Type": {"async"}, "X-Invocation-Delay": {"NaN"}},
		{"X-Invocation-Type": {"async"}, "X-Invocation-Delay": {"2h"}},
		{"X-Invocation-Type": {"async"}, "X-Invocation-Delay": {"1e30"}},
		{"X-Invocation-Type": {"async"}, "X-Invocation-At": {"tomorrow"}},
		{"X-Invocation-Type": {"async"}, "X-Invocation-At": {past}},
		{"X-Invocation-Type": {"async"}, "X-Invocation-At": {far}},
		{"X-Invocation-Type": {"async"}, "X-Invocation-Delay": {"5"}, "X-Invocation-At": {far}},
		{"X-Invocation-Delay": {"5"}}, // a sync call
	} {
		resp := gt.Do(t, "POST", gw.URL+"/d", "", h, []byte("x"))
		if resp.Status != 400 || resp.ErrorCode() != "INVALID_DELAY" {
			t.Errorf("%v: %d %s", h, resp.Status, resp.Body)
		}
	}
}

// TestAsyncDelayCancelled: a delayed invocation cancelled before its time
// is cancelled at once (200), its schedule message is gone, and it never
// runs, not even at its time.
func TestAsyncDelayCancelled(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/d", "rec"))
	gw := s.Gateway(gateway.Config{})
	var log runLog
	s.Worker(worker.Config{}, map[string]sdk.Handler{"rec": log.handler()})
	id, at := acceptDelayed(t, gw.URL+"/d", http.Header{"X-Invocation-Delay": {"2s"}}, "cancelled")
	kept, _ := acceptDelayed(t, gw.URL+"/d", http.Header{"X-Invocation-Delay": {"2s"}}, "kept")
	cancelCall(t, gw, id, http.StatusOK, record.StatusCancelled)
	if inv := publicRecord(t, gw, id); inv.Status != record.StatusCancelled {
		t.Fatalf("after the cancel: %+v", inv)
	}
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if err := queue.CancelDelayed(context.Background(), js, id); !errors.Is(err, queue.ErrNotDelayed) {
		t.Fatalf("the schedule message is still there: CancelDelayed = %v", err)
	}
	// The other one, due at the same time, runs: past it, the cancelled
	// one has had its chance to run too.
	waitStatus(t, gw, kept, record.StatusSucceeded, 15*time.Second)
	if time.Now().Before(at) {
		t.Fatalf("kept ran before the cancelled one's time %s", at)
	}
	if runs := log.of("cancelled"); len(runs) != 0 {
		t.Fatalf("the cancelled delayed invocation ran %d times", len(runs))
	}
	if inv := publicRecord(t, gw, id); inv.Status != record.StatusCancelled {
		t.Fatalf("at its time: %+v", inv)
	}
	if resp := gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+kept+"/cancel", "", nil, nil); resp.Status != http.StatusConflict {
		t.Fatalf("cancel of a finished delayed invocation = %d %s, want 409", resp.Status, resp.Body)
	}
}
