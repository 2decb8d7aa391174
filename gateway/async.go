package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
)

// HTTP headers of asynchronous invocations.
const (
	// HeaderInvocationType selects the mode: "async" or "Event" queue the
	// call, "sync" or "RequestResponse" wait for it (the default).
	HeaderInvocationType = "X-Invocation-Type"
	// HeaderInvocationID carries the id of an accepted invocation.
	HeaderInvocationID = "X-Invocation-Id"
	// HeaderCallbackURL names a URL that receives a POST with the result.
	HeaderCallbackURL = "X-Callback-Url"
)

// Errors of the async path.
var (
	ErrAsyncDisabled      = errors.New("asynchronous invocations are not enabled on this gateway")
	ErrQueueUnavailable   = errors.New("the invocation queue is unavailable")
	ErrInvocationNotFound = record.ErrInvocationNotFound
	ErrInvocationBusy     = errors.New("the invocation has not ended yet")
	// ErrInvalidInvocationID: not the form of any id fngate makes, so no
	// record is looked up.
	ErrInvalidInvocationID = errors.New("an invocation id is 32 lower-case hexadecimal characters")
)

// wantsAsync reports whether the request asks to be queued, from its route
// and its X-Invocation-Type header.
func wantsAsync(rt *route.Route, h http.Header) (bool, error) {
	v := h.Get(HeaderInvocationType)
	switch {
	case v == "":
		return rt.Async(), nil
	case strings.EqualFold(v, "async"), strings.EqualFold(v, "event"):
		if !rt.AsyncAllowed() {
			return false, ErrAsyncNotAllowed
		}
		return true, nil
	case strings.EqualFold(v, "sync"), strings.EqualFold(v, "requestresponse"):
		// An async route stays async: its callers never wait.
		return rt.Async(), nil
	}
	return false, fmt.Errorf("%w: %s must be async, Event, sync or RequestResponse", ErrBadRequest, HeaderInvocationType)
}

// invocationMode reports whether the request is to be queued and, if so,
// its options: a valid X-Callback-Url, the time its delay headers name.
func (g *Gateway) invocationMode(rt *route.Route, h http.Header) (async bool, opts asyncOpts, err error) {
	async, err = wantsAsync(rt, h)
	if err != nil {
		return async, opts, err
	}
	if opts.runAt, err = g.runAt(h, async, time.Now()); err != nil || !async {
		return async, opts, err
	}
	opts.callback, err = callbackURL(h)
	return async, opts, err
}

// callbackURL validates X-Callback-Url.
func callbackURL(h http.Header) (string, error) {
	v := h.Get(HeaderCallbackURL)
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 2048 {
		return "", fmt.Errorf("%w: %s must be an absolute http(s) URL of at most 2048 bytes", ErrBadRequest, HeaderCallbackURL)
	}
	return v, nil
}

// accept queues an invocation and answers 202 once JetStream has it, or an
// error if that takes until ctx (the route's timeout) ends. Nothing is
// written to Redis: the message is the record until a worker takes it
// (see [Gateway.lookup]). Under an idempotency key (see [Gateway.keyed])
// the 202 is the stored response: a retry with the same key gets the same
// invocation id and queues nothing; the key is released only when the
// message was certainly not stored.
func (g *Gateway) accept(ctx context.Context, rt *route.Route, reqID, trace string, payload []byte, opts asyncOpts) (response, keyFate) {
	id := record.NewInvocationID()
	if err := g.enqueueAt(ctx, id, "", rt, reqID, trace, payload, opts.callback, opts.runAt); err != nil {
		if stored(err) {
			return failed(err), keyUnknown
		}
		return failed(err), keyRelease
	}
	if !opts.runAt.IsZero() {
		return accepted(id, record.StatusScheduled, `,"runAt":"`+opts.runAt.Format(time.RFC3339Nano)+`"`), keyComplete
	}
	return accepted(id, record.StatusQueued, ""), keyComplete
}

// accepted is the 202 of invocation id (accepted, fallen back to 202):
// its id, where to look it up, and {"invocationId","status"} with extra
// JSON members (each led by a comma) after them. The id is hex: the body
// needs no JSON encoder.
func accepted(id, status, extra string) response {
	h := http.Header{
		HeaderInvocationID: {id},
		"Location":         {invocationPath(id)},
		"Content-Type":     {"application/json; charset=utf-8"},
	}
	return response{status: http.StatusAccepted, header: h, body: []byte(`{"invocationId":"` + id + `","status":"` + status + `"` + extra + `}`)}
}

// invocationPath is where the public record of invocation id is read.
func invocationPath(id string) string { return route.ReservedPath + "/" + id }

// stored reports whether a failed enqueue may have been stored all the
// same: its publish was sent and JetStream's answer was lost or came too
// late. An error before the publish (a full delayed queue, say), or a
// refusal (an API error, or no stream at all) certainly stored nothing.
func stored(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, ErrQueueUnavailable) && !errors.As(err, &apiErr) && !errors.Is(err, jetstream.ErrNoStreamResponse)
}

// enqueue publishes invocation id of rt's function with payload as its
// event, on its own subject (subject.AsyncInvocation) and with id as its
// Nats-Msg-Id, so that a publish repeated within JetStream's duplicate
// window is stored once. It returns once JetStream has acknowledged the
// message. A publish cut short (the client left, the route's timeout)
// may have been stored all the same: see stored.
func (g *Gateway) enqueue(ctx context.Context, id, replayOf string, rt *route.Route, reqID, trace string, payload []byte, callback string) error {
	return g.enqueueAt(ctx, id, replayOf, rt, reqID, trace, payload, callback, time.Time{})
}

// enqueueAt is enqueue of an invocation that runs at runAt (zero: now).
// A delayed invocation is a schedule message in the schedules stream
// (queue.DelayMsg): JetStream itself publishes it at runAt, so no
// gateway or worker has to be up then.
func (g *Gateway) enqueueAt(ctx context.Context, id, replayOf string, rt *route.Route, reqID, trace string, payload []byte, callback string, runAt time.Time) error {
	if g.queue == nil {
		return ErrAsyncDisabled
	}
	subj, err := subject.AsyncInvocation(rt.Function, id)
	if err != nil {
		return err
	}
	job := event.JobFor(rt)
	job.InvocationID, job.RequestID, job.TraceParent = id, reqID, trace
	job.ReplayOf, job.CallbackURL = replayOf, callback
	job.Redact = g.redactList                                            // the worker keeps the event redacted the same way
	msg := &nats.Msg{Subject: subj, Data: payload, Header: job.Header()} // with the Nats-Msg-Id
	if !runAt.IsZero() {
		if err := g.delayedFull(ctx, len(payload)); err != nil {
			return err
		}
		if msg, err = queue.DelayMsg(rt.Function, id, runAt, msg.Header, payload); err != nil {
			return err
		}
	}
	if _, err := g.queue.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("%w: %w", ErrQueueUnavailable, err)
	}
	return nil
}

// lookup finds invocation id: its record in Redis once a worker took it,
// else its message in the stream (queued, not taken yet). Redis is read
// again when the stream has no message: a worker may have recorded and
// acknowledged it in between, and that must not read as unknown. While
// Redis is down a queued invocation is still found; event is the kept
// (redacted) event when withEvent.
func (g *Gateway) lookup(ctx context.Context, id string, withEvent bool) (inv *record.Invocation, ev []byte, err error) {
	if g.invs == nil {
		return nil, nil, ErrAsyncDisabled
	}
	get := func() (*record.Invocation, []byte, error) {
		inv, err := g.invs.Get(ctx, id)
		if err != nil || !withEvent {
			return inv, nil, err
		}
		ev, err := g.invs.Event(ctx, id)
		if errors.Is(err, record.ErrInvocationNotFound) {
			err = nil
		}
		return inv, ev, err
	}
	inv, ev, err = get()
	if err != nil && !errors.Is(err, record.ErrInvocationNotFound) {
		err = fmt.Errorf("%w: invocation records: %w", ErrQueueUnavailable, err) // 503, not 500
	}
	if !errors.Is(err, record.ErrInvocationNotFound) && (err == nil || g.queued == nil) {
		return inv, ev, err
	}
	redisErr := err
	if g.queued != nil {
		qinv, qev, qerr := g.queued.Queued(ctx, id)
		switch {
		case qerr == nil:
			return qinv, qev, nil
		case !errors.Is(qerr, record.ErrInvocationNotFound):
			g.log.Warn("looking up a queued invocation failed", "invocation_id", id, "err", qerr)
			if errors.Is(redisErr, record.ErrInvocationNotFound) {
				return nil, nil, fmt.Errorf("%w: %w", ErrQueueUnavailable, qerr)
			}
			return nil, nil, redisErr
		}
	}
	inv, ev, err = get()
	if err != nil && !errors.Is(err, record.ErrInvocationNotFound) {
		err = fmt.Errorf("%w: invocation records: %w", ErrQueueUnavailable, err)
	}
	return inv, ev, err
}

// invocationStatus serves GET /invocations/<id> on the public listener.
// Ids are unguessable, so the id is the capability to read the record; what
// it reads is the public view (record.PublicInvocation): codes and fixed
// texts, never error texts, the event or the route. The id's form is
// checked before Redis is asked, and no answer is cached by anyone on the
// way (it changes, and it is a capability's result).
func (g *Gateway) invocationStatus(c *gin.Context) {
	reqID := requestID(c.Request)
	c.Header(HeaderRequestID, reqID)
	c.Header("Cache-Control", "no-store")
	if m := c.Request.Method; m != http.MethodGet && m != http.MethodHead {
		c.Header("Allow", "GET, HEAD")
		writeError(c, g.log, reqID, ErrMethodNotAllowed)
		return
	}
	id := c.Param("id")
	if !record.ValidInvocationID(id) {
		writeError(c, g.log, reqID, ErrInvalidInvocationID)
		return
	}
	inv, _, err := g.lookup(c.Request.Context(), id, false)
	if err != nil {
		writeError(c, g.log, reqID, err)
		return
	}
	c.JSON(http.StatusOK, inv.Public())
}

// recordFailure keeps a failed sync call of a route with RecordFailures as
// an invocation that can be replayed asynchronously.
// code classifies the failure (record.CodeFunctionStatus for a 5xx the
// function answered, else the gateway's error code); event is the stored
// (redacted) form.
func (g *Gateway) recordFailure(rt *route.Route, reqID string, event []byte, status int, code, cause string, result *record.Result) {
	if !rt.RecordFailures || g.invs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	inv := &record.Invocation{
		Summary: record.Summary{ID: record.NewInvocationID(), Function: rt.Function, Mode: route.ModeSync,
			Status: record.StatusFailed, Attempts: 1, Result: result},
		ErrorCode: code, Error: fmt.Sprintf("%d %s", status, cause),
	}
	inv.MaxAttempts = rt.RetryPolicy().MaxAttempts
	inv.Route = rt.JSON()
	if _, err := g.invs.Create(ctx, inv, event); err != nil {
		g.log.Error("recording failed sync call", "request_id", reqID, "err", err)
		return
	}
	g.log.Info("failed sync call recorded", "request_id", reqID, "invocation_id", inv.ID, "status", status)
}

// Replay queues a new invocation that runs the event of id unchanged,
// linked to it by replayOf. An invocation is replayed at most once: every
// replay of it, concurrent or later, returns the same new invocation (to
// run it again, replay the replay). One that can still run (its message
// is queued, or an attempt runs under a live lease) is busy; one whose
// message is gone (expired, purged, or its worker lost) can be replayed
// whatever its record says.
func (g *Gateway) Replay(ctx context.Context, id string) (string, error) {
	if g.queue == nil || g.invs == nil {
		return "", ErrAsyncDisabled
	}
	orig, err := g.invs.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if orig.Running(time.Now()) {
		return "", fmt.Errorf("%w: %s is %s", ErrInvocationBusy, id, orig.Status)
	}
	if !record.Ended(orig.Status) && g.queued != nil {
		switch _, _, err := g.queued.Queued(ctx, id); {
		case err == nil:
			return "", fmt.Errorf("%w: %s is queued", ErrInvocationBusy, id)
		case !errors.Is(err, record.ErrInvocationNotFound):
			return "", fmt.Errorf("%w: %w", ErrQueueUnavailable, err)
		}
	}
	event, err := g.invs.Event(ctx, id)
	if err != nil {
		return "", err
	}
	rt := replayRoute(orig)
	newID := record.ReplayID(id)
	if _, err := g.invs.Get(ctx, newID); err == nil {
		return newID, nil // replayed already, and taken: that replay it is
	}
	if g.queued != nil {
		if _, _, err := g.queued.Queued(ctx, newID); err == nil {
			return newID, nil // replayed already, and queued
		}
	}
	// A new replay, or one whose publisher died before the publish:
	// publish. JetStream drops a duplicate within its window, and a worker
	// never runs an invocation whose record ended, or runs under a live
	// lease. The stored event is all there is: a replay runs with its
	// redacted headers.
	if err := g.enqueue(ctx, newID, id, rt, "replay-"+id, "", event, orig.CallbackURL); err != nil {
		return "", err
	}
	if err := g.invs.ReplayCreated(ctx, id, newID); err != nil {
		g.log.Warn("replay not noted on the original", "invocation_id", id, "err", err)
	}
	g.log.Info("invocation replayed", "invocation_id", newID, "replay_of", id)
	return newID, nil
}

// replayRoute is the route a replay of orig runs with: the policy its
// record kept (a record keeps the policy it ran with, not always where it
// came from), or the defaults for its function.
func replayRoute(orig *record.Invocation) *route.Route {
	var rt route.Route
	if len(orig.Route) == 0 || json.Unmarshal(orig.Route, &rt) != nil {
		rt = route.Route{}
	}
	rt.Domain, rt.Path = cmp.Or(rt.Domain, route.DomainAny), cmp.Or(rt.Path, "/")
	if rt.Normalize() != nil || rt.Function != orig.Function {
		rt = route.Route{Domain: route.DomainAny, Path: "/", Function: orig.Function}
		_ = rt.Normalize()
	}
	return &rt
}
