package queue_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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
