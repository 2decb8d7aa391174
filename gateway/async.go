package gateway

import (
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
// its valid X-Callback-Url ("" none).
func invocationMode(rt *route.Route, h http.Header) (async bool, callback string, err error) {
	if async, err = wantsAsync(rt, h); err != nil || !async {
		return async, "", err
	}
	callback, err = callbackURL(h)
	return async, callback, err
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
// error if that takes until ctx (the route's timeout) ends. Under an
// idempotency key (see [Gateway.keyed]) the 202 is the stored response: a
// retry with the same key gets the same invocation id and queues nothing;
// when nothing was queued the key is released.
// The function is sent payload; the record keeps stored (see storedEvent).
func (g *Gateway) accept(ctx context.Context, rt *route.Route, reqID, trace string, payload, stored []byte, callback string) (response, keyFate) {
	id := record.NewInvocationID()
	inv := &record.Invocation{Summary: record.Summary{ID: id, Function: rt.Function, Mode: route.ModeAsync}, CallbackURL: callback}
	if _, err := g.enqueue(ctx, inv, rt, reqID, trace, payload, stored, true); err != nil {
		return failed(err), keyRelease
	}
	h := http.Header{
		HeaderInvocationID: {id},
		"Location":         {route.ReservedPath + "/" + id},
		"Content-Type":     {"application/json; charset=utf-8"},
	}
	// The id is hex: the body needs no JSON encoder.
	body := []byte(`{"invocationId":"` + id + `","status":"queued"}`)
	return response{status: http.StatusAccepted, header: h, body: body}, keyComplete
}

// enqueue records inv (unless a record with its id exists) and publishes
// the event with the invocation id as Nats-Msg-Id, so a publish repeated
// within JetStream's duplicate window is stored once. It returns once
// JetStream has acknowledged the message. It reports whether it made the
// record.
// A fresh id (from record.NewInvocationID) skips the existence check. The
// record keeps stored, the message carries payload.
func (g *Gateway) enqueue(ctx context.Context, inv *record.Invocation, rt *route.Route, reqID, trace string, payload, stored []byte, fresh bool) (bool, error) {
	if g.queue == nil || g.invs == nil {
		return false, ErrAsyncDisabled
	}
	subj, err := subject.Async(rt.Function)
	if err != nil {
		return false, err
	}
	p := rt.RetryPolicy()
	inv.MaxAttempts = p.MaxAttempts
	inv.Route = rt.JSON()
	created := true
	if fresh {
		err = g.invs.CreateNew(ctx, inv, stored)
	} else {
		created, err = g.invs.Create(ctx, inv, stored)
	}
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrQueueUnavailable, err)
	}
	job := event.Job{
		InvocationID: inv.ID, RequestID: reqID, TraceParent: trace,
		Timeout: time.Duration(rt.Timeout), MaxAttempts: p.MaxAttempts,
		RetryInitial: time.Duration(p.InitialDelay), RetryMax: time.Duration(p.MaxDelay),
		CallbackURL: inv.CallbackURL,
		Redact:      g.redactList, // the worker redacts the dead letter it keeps the same way
	}
	msg := &nats.Msg{Subject: subj, Data: payload, Header: job.Header()}
	if _, err := g.queue.PublishMsg(ctx, msg, jetstream.WithMsgID(inv.ID)); err != nil {
		if created {
			g.log.Error("invocation recorded but not queued", "invocation_id", inv.ID, "err", err)
		}
		return created, fmt.Errorf("%w: %w", ErrQueueUnavailable, err)
	}
	return created, nil
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
	if g.invs == nil {
		writeError(c, g.log, reqID, ErrAsyncDisabled)
		return
	}
	inv, err := g.invs.Get(c.Request.Context(), id)
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
// run it again, replay the replay).
func (g *Gateway) Replay(ctx context.Context, id string) (string, error) {
	if g.queue == nil || g.invs == nil {
		return "", ErrAsyncDisabled
	}
	orig, err := g.invs.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if orig.Status == record.StatusQueued || orig.Status == record.StatusRunning {
		return "", fmt.Errorf("%w: %s is %s", ErrInvocationBusy, id, orig.Status)
	}
	event, err := g.invs.Event(ctx, id)
	if err != nil {
		return "", err
	}
	var rt route.Route
	if len(orig.Route) == 0 || json.Unmarshal(orig.Route, &rt) != nil || rt.Normalize() != nil || rt.Function != orig.Function {
		rt = route.Route{Domain: route.DomainAny, Path: "/", Function: orig.Function}
		_ = rt.Normalize()
	}
	newID := record.ReplayID(id)
	inv := &record.Invocation{Summary: record.Summary{ID: newID, Function: orig.Function, Mode: route.ModeAsync}, ReplayOf: id, CallbackURL: orig.CallbackURL}
	if existing, err := g.invs.Get(ctx, newID); err == nil && existing.Status != record.StatusQueued {
		return newID, nil // replayed already: that replay it is
	}
	// A new replay, or one still queued (its publisher may have died before
	// publishing): publish. JetStream drops a duplicate within its window,
	// and a worker never re-runs an invocation that already succeeded.
	// The stored event is all there is: a replay runs with its redacted
	// headers.
	created, err := g.enqueue(ctx, inv, &rt, "replay-"+id, "", event, event, false)
	if err != nil {
		return "", err
	}
	if created {
		if err := g.invs.ReplayCreated(ctx, id, newID); err != nil {
			g.log.Warn("replay not noted on the original", "invocation_id", id, "err", err)
		}
		g.log.Info("invocation replayed", "invocation_id", newID, "replay_of", id)
	}
	return newID, nil
}
