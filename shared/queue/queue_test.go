package queue_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/queue"
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
