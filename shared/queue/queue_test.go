package queue_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/queue"
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
	if got := maxAge(); got != 7*24*time.Hour {
		t.Fatalf("MaxAge %s, want the default 168h", got)
	}
	if err := queue.EnsureStreams(ctx, js, queue.Config{MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(); got != time.Hour {
		t.Fatalf("MaxAge %s after asking for 1h", got)
	}
}
