package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

const removed = "echo" // the function TestRemoveStopsConsumer removes

// TestRemoveStopsConsumer: a function removed from a started worker
// (its folder gone, say) stops pulling its queued invocations there too,
// not only its sync subscription.
func TestRemoveStopsConsumer(t *testing.T) {
	t.Parallel()
	s := gt.New(t)
	s.Gateway(gateway.Config{}) // makes the invocation streams
	w := s.Worker(worker.Config{}, nil)
	if err := w.Add(context.Background(), removed, builtin.Functions()[removed]); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	name, _ := subject.Consumer(removed)
	waiting := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := js.Consumer(ctx, subject.StreamInvocations, name)
		if err != nil {
			return -1
		}
		info, err := c.Info(ctx)
		if err != nil {
			return -1
		}
		return info.NumWaiting
	}
	testenv.Eventually(t, 20*time.Second, "the worker pulls echo's invocations", func() bool { return waiting() > 0 })
	if err := w.Remove(context.Background(), removed); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "no pull request of echo left after Remove", func() bool { return waiting() == 0 })
}

// TestServes: Config.Functions (FNGATE_FUNCTIONS) are names or patterns;
// a bad pattern is refused at New, and Handle skips the functions the
// worker does not serve.
func TestServes(t *testing.T) {
	t.Parallel()
	nc := testenv.Conn(t, testenv.NATS(t))
	if _, err := worker.New(nc, worker.Config{Functions: []string{"img-[a"}}); err == nil {
		t.Fatal("a bad pattern was accepted")
	}
	w, err := worker.New(nc, worker.Config{Functions: []string{"img-*", "thumbs"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"img-resize": true, "thumbs": true, "thumbs2": false, "hello": false} {
		if got := w.Serves(name); got != want {
			t.Errorf("Serves(%q) = %v, want %v", name, got, want)
		}
		if err := w.Handle(name, builtin.Functions()["echo"]); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.Functions(); len(got) != 2 {
		t.Errorf("Functions() = %v, want img-resize and thumbs", got)
	}
}
