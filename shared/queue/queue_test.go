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
	config := func() jetstream.StreamConfig {
		s, err := js.Stream(ctx, subject.StreamInvocations)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().Config
	}
	if got := config(); got.MaxAge != 7*24*time.Hour || got.MaxBytes != queue.DefaultMaxBytes || got.Discard != jetstream.DiscardNew {
		t.Fatalf("MaxAge %s MaxBytes %d Discard %s, want the defaults 168h, %d, new", got.MaxAge, got.MaxBytes, got.Discard, queue.DefaultMaxBytes)
	}
	if err := queue.EnsureStreams(ctx, js, queue.Config{MaxAge: time.Hour, MaxBytes: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	if got := config(); got.MaxAge != time.Hour || got.MaxBytes != 2<<20 {
		t.Fatalf("MaxAge %s MaxBytes %d after asking for 1h and 2 MiB", got.MaxAge, got.MaxBytes)
	}
	if err := queue.EnsureStreams(ctx, js, queue.Config{MaxBytes: -1}); err != nil {
		t.Fatal(err)
	}
	if got := config(); got.MaxBytes != -1 {
		t.Fatalf("MaxBytes %d after asking for unbounded", got.MaxBytes)
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
			nc, err := nats.Connect(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := queue.EnsureStreams(ctx, js, queue.Config{Replicas: replicas, MaxBytes: 1 << 20}); err != nil {
				t.Fatal(err)
			}
			subj, _ := subject.Async("fn")
			body := make([]byte, 300_000)
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
