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
