package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
)

// TestEnsureStreams: concurrent callers (gateways starting together) all
// succeed, a repeat changes nothing, and a changed setting is applied.
func TestEnsureStreams(t *testing.T) {
	js, err := jetstream.New(testenv.Conn(t, testenv.NATS(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- queue.EnsureStreams(ctx, js, queue.Config{}) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	maxAge := func() time.Duration {
		s, err := js.Stream(ctx, subject.StreamInvocations)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().Config.MaxAge
	}
	// Never below the largest maxEventAge a route may set (plus a day):
	// the stream must not drop an invocation a worker would still run.
	if got := maxAge(); got != route.MaxEventAgeLimit+24*time.Hour {
		t.Fatalf("MaxAge %s, want the default %s", got, queue.DefaultMaxAge)
	}
	if err := queue.EnsureStreams(ctx, js, queue.Config{MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(); got != queue.DefaultMaxAge {
		t.Fatalf("MaxAge %s after asking for 1h, want the floor %s", got, queue.DefaultMaxAge)
	}
	if err := queue.EnsureStreams(ctx, js, queue.Config{MaxAge: 300 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(); got != 300*time.Hour {
		t.Fatalf("MaxAge %s after asking for 300h", got)
	}
}

// The record a worker makes of a queued message keeps the policy it runs
// with as the JSON of a route, as json.Marshal writes it.
func TestInvocationPolicyJSON(t *testing.T) {
	j := &event.Job{InvocationID: "0123456789abcdef0123456789abcdef", Timeout: 1500 * time.Millisecond, MaxAttempts: 7,
		RetryInitial: 0, RetryMax: 24 * time.Hour, MaxEventAge: 6 * time.Hour, ReplayOf: "r", CallbackURL: "https://x/cb"}
	at := time.Now().UTC()
	inv, ev := queue.Invocation("fngate.async.pay.0123456789abcdef0123456789abcdef", j, []byte(`{"body":"x"}`), at)
	want, _ := json.Marshal(route.Route{Function: "pay", Timeout: route.Duration(j.Timeout), MaxEventAge: route.Duration(j.MaxEventAge),
		Retry: &route.Retry{MaxAttempts: 7, InitialDelay: 0, MaxDelay: route.Duration(24 * time.Hour)}})
	if string(inv.Route) != string(want) {
		t.Fatalf("route = %s\nwant    %s", inv.Route, want)
	}
	if inv.ID != j.InvocationID || inv.Function != "pay" || inv.Status != record.StatusQueued || inv.MaxAttempts != 7 ||
		!inv.CreatedAt.Equal(at) || inv.ReplayOf != "r" || inv.CallbackURL != "https://x/cb" || string(ev) != `{"body":"x"}` {
		t.Fatalf("record = %+v, event %s", inv, ev)
	}
	// An older gateway's subject carries no id.
	if inv, _ := queue.Invocation("fngate.async.pay", j, nil, at); inv.Function != "pay" {
		t.Fatalf("legacy subject: function %q", inv.Function)
	}
}

// TestMaxBytes: the invocation stream gets FNGATE_QUEUE_MAX_BYTES with
// DiscardNew, an existing stream follows a changed value (also to
// unbounded), and values below 1 MiB are refused.
func TestMaxBytes(t *testing.T) {
	js, ctx := connect(t, testenv.NATS(t).ClientURL())
	for _, tc := range []struct{ set, want int64 }{{0, queue.DefaultMaxBytes}, {2 << 20, 2 << 20}, {-1, -1}} {
		if err := queue.EnsureStreams(ctx, js, queue.Config{MaxBytes: tc.set}); err != nil {
			t.Fatal(err)
		}
		st, err := js.Stream(ctx, subject.StreamInvocations)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.CachedInfo().Config; got.MaxBytes != tc.want || got.Discard != jetstream.DiscardNew {
			t.Fatalf("MaxBytes %d: stream has %d, discard %s", tc.set, got.MaxBytes, got.Discard)
		}
	}
	for _, bad := range []int64{-2, 1000} {
		if err := queue.EnsureStreams(ctx, js, queue.Config{MaxBytes: bad}); err == nil {
			t.Errorf("MaxBytes %d accepted", bad)
		}
	}
}

// TestDeadLetterBounds: the dead-letter stream is bounded in bytes (by
// default too) and age; at its MaxBytes the oldest dead letters give way,
// a new one is never refused. Before, it had no MaxBytes.
func TestDeadLetterBounds(t *testing.T) {
	js, ctx := connect(t, testenv.NATS(t).ClientURL())
	dead := func() jetstream.StreamConfig {
		st, err := js.Stream(ctx, subject.StreamDead)
		if err != nil {
			t.Fatal(err)
		}
		return st.CachedInfo().Config
	}
	if err := queue.EnsureStreams(ctx, js, queue.Config{}); err != nil {
		t.Fatal(err)
	}
	if c := dead(); c.MaxBytes != queue.DefaultDeadMaxBytes || c.MaxAge != queue.DefaultDeadMaxAge || c.Discard != jetstream.DiscardOld {
		t.Fatalf("default dead-letter stream: MaxBytes %d, MaxAge %s, discard %s", c.MaxBytes, c.MaxAge, c.Discard)
	}
	// Applied to the existing stream.
	if err := queue.EnsureStreams(ctx, js, queue.Config{DeadMaxBytes: 1 << 20, DeadMaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if c := dead(); c.MaxBytes != 1<<20 || c.MaxAge != time.Hour {
		t.Fatalf("dead-letter stream: MaxBytes %d, MaxAge %s", c.MaxBytes, c.MaxAge)
	}
	subj, _ := subject.Dead("fn")
	letter := make([]byte, 300_000)
	for i := range 10 { // 1 MiB holds three
		letter[0] = byte(i)
		if _, err := js.Publish(ctx, subj, letter); err != nil {
			t.Fatalf("dead letter %d: %v", i, err)
		}
	}
	st, err := js.Stream(ctx, subject.StreamDead)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Bytes > 1<<20 || info.State.Msgs == 0 || info.State.LastSeq != 10 {
		t.Fatalf("after 10 letters of 300 kB: %+v", info.State)
	}
	if m, err := st.GetLastMsgForSubject(ctx, subj); err != nil || m.Data[0] != 9 {
		t.Fatalf("newest letter kept: %v", err)
	}
	for _, bad := range []queue.Config{{DeadMaxBytes: -2}, {DeadMaxBytes: 1000}, {DeadMaxAge: -time.Second}} {
		if err := queue.EnsureStreams(ctx, js, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestIsFull: a publish to an invocation stream at MaxBytes is refused
// with the error IsFull recognises, on one server (R1) and on a cluster
// (R3, where the leader refuses before proposing).
func TestIsFull(t *testing.T) {
	for _, replicas := range []int{1, 3} {
		t.Run(fmt.Sprint("R", replicas), func(t *testing.T) {
			url := testenv.NATS(t).ClientURL()
			if replicas > 1 {
				var urls []string
				for _, s := range testenv.NATSCluster(t, replicas) {
					urls = append(urls, s.ClientURL())
				}
				url = strings.Join(urls, ",")
			}
			js, ctx := connect(t, url)
			if err := queue.EnsureStreams(ctx, js, queue.Config{Replicas: replicas, MaxBytes: 1 << 20}); err != nil {
				t.Fatal(err)
			}
			subj, _ := subject.Async("fn")
			body := make([]byte, 300_000)
			var err error
			for i := range 10 { // 1 MiB holds three
				_, err = js.Publish(ctx, subj, body)
				if err != nil {
					if i == 0 {
						t.Fatalf("first publish: %v", err)
					}
					break
				}
			}
			if !queue.IsFull(err) {
				t.Fatalf("publish to a full stream: %v, IsFull false", err)
			}
			if queue.IsFull(jetstream.ErrStreamNotFound) || queue.IsFull(nil) {
				t.Fatal("IsFull of another error")
			}
		})
	}
}

// TestIsFullServerOutOfStorage: a server whose JetStream storage is
// exhausted (max_file_store, here 2 MiB; by default three quarters of
// the disk) refuses a publish to an unbounded stream with an error IsFull
// recognises, so the gateway answers QUEUE_FULL, not QUEUE_UNAVAILABLE.
// Before, IsFull knew only a stream at its own MaxBytes.
func TestIsFullServerOutOfStorage(t *testing.T) {
	ns := testenv.NATSMaxStore(t, 2<<20)
	js, ctx := connect(t, ns.ClientURL())
	if err := queue.EnsureStreams(ctx, js, queue.Config{MaxBytes: -1, DeadMaxBytes: -1}); err != nil {
		t.Fatal(err)
	}
	subj, _ := subject.Async("fn")
	body := make([]byte, 300_000)
	var err error
	for i := range 20 { // 2 MiB holds six
		if _, err = js.Publish(ctx, subj, body); err != nil {
			break
		}
		if i == 19 {
			t.Fatal("20 publishes of 300 kB into 2 MiB of storage, none refused")
		}
	}
	if !queue.IsFull(err) {
		t.Fatalf("publish to a server out of storage: %v, IsFull false", err)
	}
}

// connect is JetStream on url, with a context that ends with the test or
// after 30s.
func connect(t *testing.T, url string) (jetstream.JetStream, context.Context) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return js, ctx
}
