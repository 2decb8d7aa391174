package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
)

// HTTP headers of wait-or-202 (RFC 7240).
const (
	HeaderPrefer            = "Prefer"
	HeaderPreferenceApplied = "Preference-Applied"
)

// fallbackGrace is how long past the wait the gateway still takes a reply
// before it answers 202: a worker records only calls that outlive the
// wait (event.Fallback.WaitUntil), so a reply sent just before it must
// still reach this caller, or the outcome would be nowhere.
const fallbackGrace = 300 * time.Millisecond

// fallback is a synchronous call whose caller gets 202 if the function
// outlives the wait.
type fallback struct {
	event.Fallback
	// preferred: the caller asked for it (Prefer: respond-async), so the
	// 202 says Preference-Applied.
	preferred bool
	// deadline is the call's: the record this gateway writes at the 202
	// reads dead (WORKER_LOST) once it passes unanswered, by its lease.
	deadline time.Time
}

// fallbackLease is how long past a fallen-back call's deadline its record
// stays running without a worker's outcome: the worker's own lease (its
// deadline plus the time it may take to record the outcome).
const fallbackLease = 2 * time.Minute

// fallbackFor returns the fallback of a synchronous call to rt that
// ends at deadline, or nil when the caller waits for the function: the
// request sends no Prefer: respond-async (with a wait, or on a route with
// fallbackAfter) and the route sets no fallbackAfter, the wait would
// reach the deadline, or this gateway keeps no invocation records. A
// fallen-back call is stored as an async invocation is, so a caller's
// preference is honoured only where one could be: on a route that allows
// async calls and for a body within FNGATE_ASYNC_MAX_BODY (RFC 7240 lets a
// server ignore a preference); a route's own fallbackAfter always holds,
// within the body limit. Only an invalid X-Callback-Url of a call that may
// fall back is an error.
func (g *Gateway) fallbackFor(rt *route.Route, h http.Header, bodyLen int, deadline time.Time) (*fallback, error) {
	wait := time.Duration(rt.FallbackAfter)
	prefer, preferred := h[HeaderPrefer]
	if !preferred && wait == 0 { // the common case: one map lookup
		return nil, nil
	}
	if w, async := preferWait(prefer); async && w > 0 && rt.AsyncAllowed() {
		wait = w
	} else {
		preferred = async && wait > 0
	}
	if wait == 0 || g.invs == nil || int64(bodyLen) > g.cfg.AsyncMaxBody || !time.Now().Add(wait+fallbackGrace).Before(deadline) {
		return nil, nil
	}
	callback, err := callbackURL(h)
	if err != nil {
		return nil, err
	}
	return &fallback{Fallback: event.Fallback{InvocationID: record.NewInvocationID(), WaitUntil: time.Now().Add(wait), CallbackURL: callback, Redact: g.redactList}, preferred: preferred, deadline: deadline}, nil
}

// preferWait reads the Prefer header fields vs (RFC 7240): whether they
// ask for respond-async, and the wait they name (0 none). Preferences
// this gateway does not know, their parameters, and a wait that is not
// a positive number of seconds are ignored, as section 2 asks.
func preferWait(vs []string) (wait time.Duration, async bool) {
	for _, v := range vs {
		for p := range strings.SplitSeq(v, ",") {
			p, _, _ = strings.Cut(p, ";")
			name, val, _ := strings.Cut(p, "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "respond-async":
				async = true
			case "wait":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
				if err == nil && n > 0 && n <= int64(route.MaxTimeout/time.Second) {
					wait = time.Duration(n) * time.Second
				}
			}
		}
	}
	return wait, async
}

// callFallback makes a call that may fall back without an idempotency
// key: it waits for the reply until the wait (and fallbackGrace) ends,
// then answers 202 and leaves the outcome to the worker, which records
// it. A call no worker took by then is ErrNoWorker, as without a wait.
func (g *Gateway) callFallback(ctx context.Context, x *exchange, rt *route.Route, req *event.Request, payload []byte, msg *nats.Msg, fb *fallback, deadline time.Time) response {
	wctx, cancel := context.WithDeadline(ctx, fb.WaitUntil.Add(fallbackGrace))
	g.inflight.Add(1)
	resp, err := g.request(wctx, msg, deadline)
	g.inflight.Add(-1)
	cancel()
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return g.fellBack(rt, fb, x.reqID, g.storedEvent(req, payload))
	}
	res, _ := g.replied(rt, x.reqID, x.c.Writer.Header(), req, payload, nil, resp, err)
	return res
}

// fellBack is the 202 of a call that outlived its wait. It creates the
// invocation's record, running, unless its worker did already (it does
// at the wait's end), so that the Location answers at once; the worker
// takes the record over and writes the outcome.
func (g *Gateway) fellBack(rt *route.Route, fb *fallback, reqID string, stored []byte) response {
	id := fb.InvocationID
	// Leased: if no worker ever takes it (none got the call, or it died
	// before the wait's end), the record reads dead once the lease lapses,
	// not running until it expires.
	lease := fb.deadline.Add(fallbackLease)
	inv := &record.Invocation{
		Summary:     record.Summary{ID: id, Function: rt.Function, Mode: route.ModeSync, Status: record.StatusRunning, MaxAttempts: 1},
		CallbackURL: fb.CallbackURL, Route: rt.JSON(), LeaseUntil: &lease,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := g.invs.Create(ctx, inv, stored); err != nil {
		g.log.Warn("creating the record of a call that fell back failed; its worker records it", "request_id", reqID, "invocation_id", id, "err", err)
	}
	g.metrics.fellBack.Inc()
	res := accepted(id, record.StatusRunning, "")
	if fb.preferred {
		res.header[HeaderPreferenceApplied] = []string{"respond-async"}
	}
	return res
}

// fallbackWait orders the two ends of a keyed call that may fall back:
// the 202 stored under the key at the wait's end, and the reply that
// completes the key. Whichever comes first decides: a reply settled
// first is the answer; a 202 stored first is replaced by the reply's
// completion, which waits for it. Nil (no fallback) does nothing.
type fallbackWait struct {
	timer   *time.Timer
	mu      sync.Mutex
	replied bool
}

func newFallbackWait(fb *fallback) *fallbackWait {
	if fb == nil {
		return nil
	}
	return &fallbackWait{timer: time.NewTimer(time.Until(fb.WaitUntil.Add(fallbackGrace)))}
}

// end fires at the wait's end; never for nil.
func (w *fallbackWait) end() <-chan time.Time {
	if w == nil {
		return nil
	}
	return w.timer.C
}

func (w *fallbackWait) stop() {
	if w != nil {
		w.timer.Stop()
	}
}

// settle notes that the reply came (or the wait for it ended); once
// fellBack is storing the 202 it waits for it to be stored.
func (w *fallbackWait) settle() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.replied = true
	w.mu.Unlock()
}

// fellBack runs answer (the 202, stored under the key) unless the reply
// settled first; ok reports whether it ran.
func (w *fallbackWait) fellBack(answer func() response) (response, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.replied {
		return response{}, false
	}
	return answer(), true
}
