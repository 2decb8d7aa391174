package worker_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

// call sends ev to function over nc as the gateway does.
func call(t *testing.T, nc *nats.Conn, function string, ev *event.Event, timeout time.Duration) (*nats.Msg, error) {
	t.Helper()
	subj, err := subject.Invoke(function)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	c := event.Call{RequestID: ev.RequestContext.RequestID, Deadline: deadline}
	m := &nats.Msg{Subject: subj, Data: ev.AppendJSON(nil), Header: c.Header()}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(time.Second))
	defer cancel()
	return nc.RequestMsgWithContext(ctx, m)
}

func newWorker(t *testing.T, nc *nats.Conn, cfg worker.Config) *worker.Worker {
	t.Helper()
	w, err := worker.New(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestErrorsAndResults(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	w := newWorker(t, testenv.Conn(t, ns), worker.Config{})
	var gotDeadline time.Time
	var gotInfo sdk.Info
	must(t, w.Handle("ok", sdk.HandlerFunc(func(ctx context.Context, ev *event.Event) (any, error) {
		gotDeadline, _ = ctx.Deadline()
		gotInfo, _ = sdk.InfoFrom(ctx)
		return map[string]string{"path": ev.Path}, nil
	})))
	must(t, w.Handle("boom", sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) { panic("boom") })))
	must(t, w.Handle("err", sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) { return nil, errors.New("nope") })))
	must(t, w.Handle("load", sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
		return nil, &event.Error{Code: event.CodeLoadError, Message: "syntax"}
	})))
	must(t, w.Handle("late", sdk.HandlerFunc(func(ctx context.Context, _ *event.Event) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})))
	type in struct{ N int }
	must(t, w.Handle("typed", sdk.JSON(func(_ context.Context, _ *event.Event, v in) (in, error) { return in{v.N * 2}, nil })))
	must(t, w.Start(context.Background()))
	t.Cleanup(func() { _ = w.Drain(context.Background()) })
	nc := testenv.Conn(t, ns)

	ev := &event.Event{Path: "/p", RequestContext: event.RequestContext{RequestID: "req-1"}}
	start := time.Now()
	m, err := call(t, nc, "ok", ev, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	status, body, err := event.ParseReply(m, h)
	if err != nil || status != 200 || string(body) != `{"path":"/p"}` || h.Get("Content-Type") != "application/json" {
		t.Fatalf("ok reply = %d %s %v %v", status, body, h, err)
	}
	if d := gotDeadline.Sub(start); d < 2*time.Second || d > 4*time.Second {
		t.Errorf("handler deadline %s after the call, want about 3s", d)
	}
	if gotInfo.RequestID != "req-1" || gotInfo.FunctionName != "ok" {
		t.Errorf("info = %+v", gotInfo)
	}

	for fn, code := range map[string]string{"boom": event.CodeFunctionError, "err": event.CodeFunctionError, "load": event.CodeLoadError} {
		m, err := call(t, nc, fn, ev, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = event.ParseReply(m, http.Header{})
		var fe *event.Error
		if !errors.As(err, &fe) || fe.Code != code {
			t.Errorf("%s: err = %v, want code %s", fn, err, code)
		}
	}
	// The deadline travels with the call: the handler's ctx ends with it.
	sub, _ := subject.Invoke("late")
	dl := time.Now().Add(200 * time.Millisecond)
	msg := &nats.Msg{Subject: sub, Data: ev.AppendJSON(nil), Header: (&event.Call{Deadline: dl}).Header()}
	m, err = nc.RequestMsg(msg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var fe *event.Error
	if _, _, err = event.ParseReply(m, http.Header{}); !errors.As(err, &fe) || fe.Code != event.CodeTimeout {
		t.Errorf("late: %v, want %s", err, event.CodeTimeout)
	}
	// A malformed event is refused, not run.
	sub, _ = subject.Invoke("ok")
	m, err = nc.Request(sub, []byte("{not json"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err = event.ParseReply(m, http.Header{}); !errors.As(err, &fe) || fe.Code != event.CodeInvalidEvent {
		t.Errorf("bad event: %v", err)
	}
	// The typed JSON adapter.
	tev := &event.Event{Body: `{"N":21}`}
	m, _ = call(t, nc, "typed", tev, 3*time.Second)
	if _, body, err := event.ParseReply(m, http.Header{}); err != nil || string(body) != `{"N":42}` {
		t.Errorf("typed = %s %v", body, err)
	}
	tev.Body = "[1"
	m, _ = call(t, nc, "typed", tev, 3*time.Second)
	if status, _, _ := event.ParseReply(m, http.Header{}); status != 400 {
		t.Errorf("typed with bad JSON = %d, want 400", status)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	w := newWorker(t, testenv.Conn(t, ns), worker.Config{})
	var cur, peak atomic.Int64
	must(t, w.Handle("limited", sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // simulated work, not a wait for state
		cur.Add(-1)
		return "ok", nil
	}), worker.WithConcurrency(2)))
	must(t, w.Start(context.Background()))
	t.Cleanup(func() { _ = w.Drain(context.Background()) })
	nc := testenv.Conn(t, ns)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := call(t, nc, "limited", &event.Event{}, 10*time.Second); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want 2", p)
	}
}

func TestDrainAnswersWhatItHolds(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	w := newWorker(t, testenv.Conn(t, ns), worker.Config{})
	release := make(chan struct{})
	var started atomic.Int64
	must(t, w.Handle("held", sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
		started.Add(1)
		<-release
		return "done", nil
	}), worker.WithConcurrency(2)))
	must(t, w.Start(context.Background()))
	nc := testenv.Conn(t, ns)
	const n = 6 // 2 running, 4 queued in the worker
	// Published and flushed before the drain: the server has routed all six
	// to the worker, so the drain must answer every one.
	inbox := nats.NewInbox()
	replies, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := subject.Invoke("held")
	call := event.Call{Deadline: time.Now().Add(20 * time.Second)}
	for range n {
		m := &nats.Msg{Subject: subj, Reply: inbox, Data: (&event.Event{}).AppendJSON(nil), Header: call.Header()}
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "two invocations running", func() bool { return started.Load() == 2 })
	drained := make(chan error, 1)
	go func() { drained <- w.Drain(context.Background()) }()
	// New calls find no worker once the drain has unsubscribed.
	testenv.Eventually(t, 10*time.Second, "no responders after drain starts", func() bool {
		_, err := nc.Request(subj, (&event.Event{}).AppendJSON(nil), 50*time.Millisecond)
		return errors.Is(err, nats.ErrNoResponders)
	})
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v with invocations still held", err)
	default:
	}
	close(release)
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m, err := replies.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if _, body, err := event.ParseReply(m, http.Header{}); err != nil || string(body) != "done" {
			t.Errorf("held invocation %d: %q %v", i, body, err)
		}
	}
}

func TestHandleValidation(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	w := newWorker(t, testenv.Conn(t, ns), worker.Config{})
	h := sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) { return nil, nil })
	if err := w.Handle("Bad.Name", h); !errors.Is(err, subject.ErrInvalidFunction) {
		t.Errorf("invalid name: %v", err)
	}
	must(t, w.Handle("a", h))
	if err := w.Handle("a", h); err == nil {
		t.Error("duplicate accepted")
	}
	if err := w.Handle("b", h, worker.WithConcurrency(0)); err == nil {
		t.Error("concurrency 0 accepted")
	}
	must(t, w.Start(context.Background()))
	if err := w.Handle("c", h); err == nil {
		t.Error("Handle after Start accepted")
	}
	must(t, w.Drain(context.Background()))
	if _, err := worker.New(nil, worker.Config{Concurrency: -1}); err == nil {
		t.Error("negative concurrency accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSlowCallDoesNotHoldUpOthers: quick calls run inline in the loop that
// reads the subscription, and a call that turns slow hands the queue to a
// new loop, so the calls behind it are answered while it still runs. Then
// the function counts as slow and its calls are spawned.
func TestSlowCallDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	w := newWorker(t, testenv.Conn(t, ns), worker.Config{})
	release := make(chan struct{})
	held := make(chan struct{}, 8)
	must(t, w.Handle("mixed", sdk.HandlerFunc(func(_ context.Context, ev *event.Event) (any, error) {
		if ev.Path == "/slow" {
			held <- struct{}{}
			<-release
		}
		return ev.Path, nil
	})))
	must(t, w.Start(context.Background()))
	t.Cleanup(func() { _ = w.Drain(context.Background()) })
	nc := testenv.Conn(t, ns)
	for round := range 2 { // inline first; the second round finds the function slow
		slow := make(chan error, 1)
		go func() {
			_, err := call(t, nc, "mixed", &event.Event{Path: "/slow"}, 20*time.Second)
			slow <- err
		}()
		<-held
		for i := range 5 {
			m, err := call(t, nc, "mixed", &event.Event{Path: "/fast"}, 10*time.Second)
			if err != nil {
				t.Fatalf("round %d: fast call %d behind a slow one: %v", round, i, err)
			}
			if _, body, err := event.ParseReply(m, http.Header{}); err != nil || string(body) != "/fast" {
				t.Fatalf("round %d: fast call %d: %q %v", round, i, body, err)
			}
		}
		select {
		case err := <-slow:
			t.Fatalf("round %d: the slow call ended (%v) before it was released", round, err)
		default:
		}
		release <- struct{}{}
		if err := <-slow; err != nil {
			t.Fatalf("round %d: slow call: %v", round, err)
		}
	}
}
