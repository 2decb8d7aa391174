package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/subject"
)

// EndedError is a cancel of an invocation that ended already: 409
// INVOCATION_ENDED with its status.
type EndedError struct {
	ID, Status string
}

func (e *EndedError) Error() string {
	return fmt.Sprintf("invocation %s ended already: %s", e.ID, e.Status)
}

// Cancel cancels invocation id and returns its status then:
//
//   - record.StatusCancelled: it waited in the stream (queued, scheduled,
//     or failed and waiting for its next attempt); its record says
//     cancelled (created now if no worker took it) and its message is
//     deleted, so it never runs. A worker that fetched the message just
//     before the delete finds the record cancelled when it takes it and
//     acknowledges it without running (the Take script refuses it).
//   - record.StatusCancelling: an attempt runs under a live lease; the record
//     notes the cancel (no further attempt starts) and the workers of its
//     function are told on subject.Cancel, so the one running it cancels
//     the attempt's context. Its record ends cancelled when the function
//     returns or at its deadline.
//
// It returns an *EndedError when the invocation ended already.
//
// The message is found by id alone (subject.AsyncByID), so any message of
// the invocation in the stream is cancelled, whatever its subject says
// about when it is due.
func (g *Gateway) Cancel(ctx context.Context, id string) (string, error) {
	if g.queue == nil || g.invs == nil || g.queued == nil {
		return "", ErrAsyncDisabled
	}
	if !record.ValidInvocationID(id) {
		return "", ErrInvalidInvocationID
	}
	// The stream first: a record written from the message makes a worker
	// that holds the message refuse it.
	inv, ev, seq, err := g.queued.Find(ctx, id)
	if err != nil && !errors.Is(err, record.ErrInvocationNotFound) {
		return "", fmt.Errorf("%w: %w", ErrQueueUnavailable, err)
	}
	delayed := inv != nil && inv.Status == record.StatusScheduled
	st, err := g.invs.Cancel(ctx, id, inv, ev)
	if err != nil {
		if errors.Is(err, record.ErrInvocationNotFound) || errors.Is(err, record.ErrSyncCall) {
			return "", err
		}
		return "", fmt.Errorf("%w: invocation records: %w", ErrQueueUnavailable, err)
	}
	switch st {
	case record.StatusCancelled:
		// Left in a stream, the message is acknowledged unrun by the
		// worker that takes it: the record decides.
		switch {
		case delayed:
			// A firing that won the race reaches a worker that finds the
			// record cancelled.
			if err := g.queued.CancelDelayed(ctx, id); err != nil && !errors.Is(err, queue.ErrNotDelayed) {
				g.log.Warn("cancelled delayed invocation's schedule not removed; a worker will drop it when it fires", "invocation_id", id, "err", err)
			}
		case seq != 0:
			if err := g.queued.Delete(ctx, seq); err != nil {
				g.log.Warn("cancelled invocation's message not deleted; a worker will drop it", "invocation_id", id, "err", err)
			}
		}
		g.log.Info("invocation cancelled", "invocation_id", id)
		return st, nil
	case record.StatusCancelling:
		var fn string
		if inv != nil { // its worker holds the message
			fn = inv.Function
		} else if rec, err := g.invs.Get(ctx, id); err == nil {
			fn = rec.Function
		}
		subj, err := subject.Cancel(fn, id)
		if err == nil {
			err = g.nats.PublishMsg(&nats.Msg{Subject: subj})
		}
		if err != nil {
			// The record has it: no further attempt runs either way.
			g.log.Warn("telling the workers of a cancel failed; the running attempt goes on to its end", "invocation_id", id, "err", err)
		}
		g.log.Info("running invocation cancelling", "invocation_id", id)
		return st, nil
	}
	return "", &EndedError{ID: id, Status: st}
}

func (g *Gateway) cancelInvocation(c *gin.Context) {
	out, err := g.adminAPI().Cancel(c.Request.Context(), c.Param("id"))
	if err != nil {
		g.fail(c, err)
		return
	}
	status := http.StatusOK
	if out.Status == record.StatusCancelling {
		status = http.StatusAccepted
	}
	c.JSON(status, out)
}

func (a adminAPI) Cancel(ctx context.Context, id string) (*adminapi.Cancelled, error) {
	st, err := a.g.Cancel(ctx, id)
	if err != nil {
		return nil, apiError(err)
	}
	return &adminapi.Cancelled{InvocationID: id, Status: st}, nil
}
