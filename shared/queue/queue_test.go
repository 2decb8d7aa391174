package queue_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

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
