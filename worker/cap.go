package worker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
)

// FunctionSettings reads function settings; *store.Functions is one.
type FunctionSettings interface {
	Get(ctx context.Context, name string) (route.Function, error)
}

// maxAckPending is the MaxAckPending of function's durable consumer: its
// maxConcurrency, the fleet-wide cap, when it has one, else the worker's.
// JetStream delivers no more than that many of its invocations that no
// worker acknowledged, whatever the number of workers, so no more run at
// once. Messages buffered in a worker's pull and messages held while
// Redis is down count too: they wait, and never run beyond the cap.
func (w *Worker) maxAckPending(ctx context.Context, function string) (int, error) {
	if w.async.Functions == nil {
		return w.async.MaxAckPending, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	f, err := w.async.Functions.Get(ctx, function)
	if err != nil {
		return 0, err
	}
	if f.MaxConcurrency > 0 {
		return f.MaxConcurrency, nil
	}
	return w.async.MaxAckPending, nil
}

// ensureCapped creates or updates function's consumer with its cap and
// returns it with the MaxAckPending it has. While the cap cannot be read
// (Redis down) an existing consumer is left as it is, and a new one gets
// the worker's MaxAckPending: nothing runs before Redis answers (a take
// needs it), and followCap applies the cap within a heartbeat interval
// after. Asking Redis again and again here would only pile up dial errors.
func (w *Worker) ensureCapped(ctx context.Context, function string) (jetstream.Consumer, int, error) {
	name, _ := subject.Consumer(function) // a registered name is valid
	// The stream first (consumer info, which the worker's NATS user may
	// read): a worker started before any gateway waits without asking Redis.
	have, err := w.async.JetStream.Consumer(ctx, subject.StreamInvocations, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, 0, err
	}
	n, err := w.maxAckPending(ctx, function)
	if err != nil {
		if have != nil {
			return have, have.CachedInfo().Config.MaxAckPending, nil
		}
		n = w.async.MaxAckPending
	}
	c, err := queue.EnsureConsumer(ctx, w.async.JetStream, function, queue.ConsumerConfig{AckWait: w.async.AckWait, MaxAckPending: n})
	return c, n, err
}

// followCap applies changes of function's cap to its consumer, read every
// HeartbeatInterval, until ctx ends; applied is the consumer's now.
// Every worker of the function does so; they read the same setting.
func (w *Worker) followCap(ctx context.Context, function string, applied int) {
	if w.async.Functions == nil {
		return
	}
	t := time.NewTicker(w.cfg.HeartbeatInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			applied = w.applyCap(ctx, function, applied)
		}
	}
}

// applyCap sets function's consumer's MaxAckPending to its cap when it
// is not applied yet, and returns what is applied.
func (w *Worker) applyCap(ctx context.Context, function string, applied int) int {
	n, err := w.maxAckPending(ctx, function)
	if err != nil || n == applied {
		return applied
	}
	if _, err := queue.EnsureConsumer(ctx, w.async.JetStream, function, queue.ConsumerConfig{AckWait: w.async.AckWait, MaxAckPending: n}); err != nil {
		w.log.Warn("applying maxConcurrency to the consumer failed; retrying", "function", function, "err", err)
		return applied
	}
	w.log.Info("maxConcurrency applied", "function", function, "max_ack_pending", n)
	return n
}
