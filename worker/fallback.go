package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
)

// fallbackRun records a synchronous call whose caller gets 202 once it
// outlives a wait (see event.Fallback): at the wait's end the worker
// takes the invocation's record (creating it, running), and when the
// call ends it writes the outcome there, with the same store code as a
// queued invocation's. The gateway that answered 202 may be gone by then:
// the result does not depend on it.
type fallbackRun struct {
	fb    *event.Fallback
	log   *lazyLog
	timer *time.Timer
	taken chan struct{} // closed when the take at the wait's end ended
	// Set by the take, read after taken is closed.
	status  string
	attempt int
	err     error
}

// fallbackMargin is how long before the wait's end (at most half the
// wait) the worker takes the record of a call still running.
const fallbackMargin = 500 * time.Millisecond

// startFallback arms the record of call, an invocation of f that started
// at start with event data (nil: the call has no fallback, or this worker
// keeps no records and cannot honour it).
func (w *Worker) startFallback(f *function, call *event.Call, data []byte, start time.Time) *fallbackRun {
	fb := call.Fallback
	if fb == nil {
		return nil
	}
	log := &lazyLog{base: w.log, id: fb.InvocationID, function: f.name, args: []any{"request_id", call.RequestID}}
	if w.async == nil || !record.ValidInvocationID(fb.InvocationID) {
		log.Warn("the caller gets 202 if this call outlives its wait, but this worker keeps no invocation records (async not enabled): its outcome will not be recorded")
		return nil
	}
	r := &fallbackRun{fb: fb, log: log, taken: make(chan struct{})}
	lease := route.MaxTimeout // no heartbeats: the lease covers the call
	if !call.Deadline.IsZero() {
		lease = time.Until(call.Deadline) + settleTimeout
	}
	// Taken a little before the wait's end: a reply sent just before it
	// may reach the gateway after it has answered 202 (its grace is
	// 300 ms; the clocks of two machines differ too), and that outcome
	// must be recorded. A call that ends in the margin is both answered
	// and recorded, under an id its caller never learns.
	margin := min(fallbackMargin, fb.WaitUntil.Sub(start)/2)
	r.timer = time.AfterFunc(time.Until(fb.WaitUntil.Add(-margin)), func() {
		defer close(r.taken)
		inv := &record.Invocation{
			Summary:     record.Summary{ID: fb.InvocationID, Function: f.name, Mode: route.ModeSync, MaxAttempts: 1, CreatedAt: start},
			CallbackURL: fb.CallbackURL,
		}
		kept := event.Kept(data, fb.RedactNames())
		owner := nuid.Next()
		settle, cancel := context.WithTimeout(context.Background(), settleTimeout)
		defer cancel()
		r.err = w.persist(settle, log, "recording a call that outlived its wait", func(ctx context.Context) (err error) {
			r.status, r.attempt, err = w.async.Records.Take(ctx, inv, kept, owner, lease, time.Time{})
			return err
		})
	})
	return r
}

// endFallback records reply, the outcome of r's call, if the call
// outlived its wait; a call that ended before is its caller's alone.
func (w *Worker) endFallback(f *function, r *fallbackRun, reply *nats.Msg) {
	if r == nil || r.timer.Stop() {
		return
	}
	<-r.taken
	if r.err != nil || r.status != record.StatusRunning {
		r.log.Error("the record of a call that outlived its wait could not be taken; its outcome is not recorded", "status", r.status, "err", r.err)
		return
	}
	id := r.fb.InvocationID
	h := http.Header{}
	status, body, err := event.ParseReply(reply, h)
	settle, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err == nil && !record.FunctionFailed(status) {
		res := w.result(&event.Reply{Status: status, Header: h, Body: body})
		err := w.persist(settle, r.log, "recording success", func(ctx context.Context) error {
			return w.async.Records.Succeed(ctx, id, r.attempt, res)
		})
		if err != nil {
			r.log.Error("recording the outcome of a call that outlived its wait failed", "err", err)
			return
		}
		w.callback(id, f.name, r.fb.CallbackURL, record.StatusSucceeded, r.attempt, res, nil)
		return
	}
	// A synchronous call is never retried: its one failed attempt is its
	// end (dead, with no dead letter: nothing could run it again).
	ae := record.AttemptError{Attempt: r.attempt, At: time.Now()}
	var fe *event.Error
	switch {
	case errors.As(err, &fe):
		ae.Code, ae.Error = fe.Code, fe.Message
	case err != nil:
		ae.Code, ae.Error = event.CodeInvalidResponse, err.Error()
	default:
		ae.Code, ae.Status, ae.Error = record.CodeFunctionStatus, status, fmt.Sprintf("the function answered %d: %s", status, truncate(body, 512))
	}
	if err := w.persist(settle, r.log, "recording the failure", func(ctx context.Context) error {
		return w.async.Records.Dead(ctx, id, ae, r.attempt)
	}); err != nil {
		r.log.Error("recording the outcome of a call that outlived its wait failed", "err", err)
		return
	}
	w.callback(id, f.name, r.fb.CallbackURL, record.StatusDead, r.attempt, nil, &ae)
}
