package worker

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/subject"
)

// errCancelled is the cause of an attempt's context cancelled by an
// operator's cancel (POST /admin/invocations/<id>/cancel).
var errCancelled = errors.New("the invocation was cancelled")

// cancellable returns the context an attempt of invocation id runs under,
// registered so that a cancel for id (see watchCancels) cancels it, and
// the func that forgets it.
func (w *Worker) cancellable(id string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	h := &cancel // a pointer: funcs do not compare
	w.running.Store(id, h)
	return ctx, func() {
		w.running.CompareAndDelete(id, h)
		cancel(nil)
	}
}

// cancelled reports whether ctx, from cancellable, was cancelled by a
// cancel of its invocation.
func cancelled(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errCancelled) }

// watchCancels subscribes to the cancels of f's invocations (one subject
// per invocation, subject.Cancel): every worker of f hears each, and the
// one running the invocation cancels its attempt's context; Go handlers
// see ctx.Done(), Node functions context.signal. A cancel missed here (the
// worker was cut off from NATS) still ends the invocation: the record
// refuses any further attempt.
func (w *Worker) watchCancels(f *function) *nats.Subscription {
	subj, err := subject.CancelAll(f.name)
	if err != nil {
		return nil
	}
	sub, err := w.nc.Subscribe(subj, func(m *nats.Msg) {
		w.cancelIf(record.ErrCancelRequested, subject.InvocationOf(m.Subject))
	})
	if err != nil {
		w.log.Error("cancels of running invocations not watched", "function", f.name, "err", err)
		return nil
	}
	return sub
}

// cancelIf cancels the running attempt of id when renewing its lease
// found it cancelled (the cancel's message was missed: the worker was
// cut off from NATS, say).
func (w *Worker) cancelIf(err error, id string) {
	if !errors.Is(err, record.ErrCancelRequested) {
		return
	}
	if c, ok := w.running.Load(id); ok {
		(*c.(*context.CancelCauseFunc))(errCancelled)
	}
}

// endCancelled records that attempt stopped because its invocation was
// cancelled, and acknowledges its message: no further attempt.
func (w *Worker) endCancelled(settle context.Context, log *lazyLog, m jetstream.Msg, id string, attempt int, hb *beat) {
	err := w.persist(settle, log, "recording the cancel", func(ctx context.Context) error {
		return w.async.Records.Cancelled(ctx, id, attempt)
	})
	if !recorded(err, m, log, "cancelled attempt was taken over", "recording the cancel failed") {
		return
	}
	log.Info("invocation cancelled while it ran")
	hb.stop()
	_ = m.Ack()
}
