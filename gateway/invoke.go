package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
)

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestID keeps a caller's valid X-Request-Id or makes a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get(HeaderRequestID); id != "" && validRequestID.MatchString(id) {
		return id
	}
	return nuid.Next()
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// invoke serves one public request: match, build the event, request, reply.
func (g *Gateway) invoke(c *gin.Context) {
	start := time.Now()
	label, mode := "", "sync"
	defer func() { g.metrics.observe(label, mode, c.Writer.Status(), start) }()
	r := c.Request
	reqID := requestID(r)
	c.Header(HeaderRequestID, reqID)
	if !g.admit.enter() {
		g.metrics.refusedReqs.Inc()
		writeError(c, g.log, reqID, ErrOverloaded)
		return
	}
	defer g.admit.leave()
	if headerSize(r) > g.cfg.MaxHeaderBytes {
		writeError(c, g.log, reqID, ErrHeadersTooLarge)
		return
	}
	// Matching, the idempotency fingerprint and the event all see the
	// cleaned path: "/public/../pay" is "/pay", with /pay's rules.
	clean, err := route.CleanPath(r.URL.Path, r.URL.RawPath)
	if err != nil {
		writeError(c, g.log, reqID, err)
		return
	}
	if clean != r.URL.Path {
		r.URL.Path, r.URL.RawPath = clean, ""
	}
	tab := g.table.Load()
	if tab == nil {
		writeError(c, g.log, reqID, ErrRoutesUnavailable)
		return
	}
	rt := tab.Match(r.Host, r.URL.Path)
	if rt == nil {
		writeError(c, g.log, reqID, ErrRouteNotFound)
		return
	}
	label = rt.Label()
	if g.cors(c, rt, reqID) {
		return
	}
	if !rt.AllowsMethod(r.Method) {
		c.Header("Allow", strings.Join(rt.Methods, ", "))
		writeError(c, g.log, reqID, ErrMethodNotAllowed)
		return
	}
	async, err := wantsAsync(rt, r.Header)
	var callback string
	if err == nil && async {
		callback, err = callbackURL(r.Header)
	}
	if err != nil {
		writeError(c, g.log, reqID, err)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	body, held, err := g.readBody(c, buf)
	if err != nil {
		writeError(c, g.log, reqID, err)
		return
	}
	defer g.admit.release(held)
	// The route's timeout covers the whole call, an idempotency claim
	// included.
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(rt.Timeout))
	defer cancel()
	claim, done := g.claimIdempotency(ctx, c, rt, reqID, body)
	if done {
		return
	}
	trace := traceParent(r.Header)
	req := &event.Request{
		Method:   r.Method,
		Path:     rt.EventPath(r.URL.Path),
		Host:     r.Host,
		Header:   r.Header,
		RawQuery: r.URL.RawQuery,
		Body:     body,
		Context: event.RequestContext{
			RequestID:    reqID,
			EnvID:        g.cfg.EnvID,
			FunctionName: rt.Function,
			Domain:       route.NormalizeHost(r.Host),
			SourceIP:     g.sourceIP(c),
			TriggerPath:  rt.Path,
			TraceParent:  trace,
		},
	}
	payload := event.AppendRequest(buf.AvailableBuffer()[:0], req)
	if async {
		mode = "async"
		g.accept(ctx, c, rt, reqID, trace, payload, g.storedEvent(req, payload), callback, claim)
		return
	}
	deadline, _ := ctx.Deadline()
	subj, err := subject.Invoke(rt.Function)
	if err != nil { // unreachable for a normalised route; never publish it
		g.releaseIdempotency(claim, reqID)
		writeError(c, g.log, reqID, err)
		return
	}
	msg := &nats.Msg{
		Subject: subj,
		Header: nats.Header{
			subject.HeaderRequestID: {reqID},
			subject.HeaderDeadline:  {strconv.FormatInt(deadline.UnixMilli(), 10)},
		},
		Data: payload,
	}
	if trace != "" {
		msg.Header[subject.HeaderTraceParent] = []string{trace}
	}
	if claim != nil {
		g.callClaimed(ctx, c, rt, req, msg, claim)
		return
	}
	g.inflight.Add(1)
	resp, err := g.request(ctx, msg, deadline)
	g.inflight.Add(-1)
	if err == nil {
		h := c.Writer.Header()
		var status int
		var rbody []byte
		if status, rbody, err = event.ParseReply(resp, h); err == nil {
			if status >= 500 && rt.RecordFailures {
				g.recordFailure(rt, reqID, g.storedEvent(req, payload), status, record.CodeFunctionStatus, "from the function", &record.Result{StatusCode: status, Headers: h.Clone(), Body: string(rbody)})
			}
			writeReply(c, reqID, status, rbody)
			return
		}
	}
	if status, d := classify(err); status >= 500 && status != 499 {
		g.recordFailure(rt, reqID, g.storedEvent(req, payload), status, d.Code, d.Code, nil)
	}
	writeError(c, g.log, reqID, err)
}

// writeReply sends the function's response; its headers are in c's writer.
func writeReply(c *gin.Context, reqID string, status int, body []byte) {
	h := c.Writer.Header()
	h[HeaderRequestID] = []string{reqID} // ours, whatever the function set
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	c.Writer.WriteHeader(status)
	_, _ = c.Writer.Write(body)
}

// callClaimed makes a call that holds an idempotency key. Once the request
// may have reached a worker, the key must end up holding what the function
// did, or a retry would run it again. So the wait for the reply is not the
// client's: it runs detached from the request until the route's deadline
// plus IdempotencyGrace (the worker gives the function the route's
// deadline; a handler that overruns it still replies). The client gets the
// reply if it comes within the route's deadline, else 504 (or nothing, if
// it left); a later reply still completes the key for the retry to replay.
func (g *Gateway) callClaimed(ctx context.Context, c *gin.Context, rt *route.Route, req *event.Request, msg *nats.Msg, claim *idemClaim) {
	reqID := req.Context.RequestID
	msg.Data = bytes.Clone(msg.Data) // outlives this handler and its pooled buffer
	// The record of a failure keeps the redacted event; req's body is in
	// the pooled buffer, so it is built now, not in the detached wait.
	stored := msg.Data
	if rt.RecordFailures {
		stored = g.storedEvent(req, msg.Data)
	}
	deadline, _ := ctx.Deadline()
	done := make(chan callOutcome, 1)
	g.inflight.Add(1)
	g.settling.Add(1)
	go func() {
		defer g.settling.Done()
		wctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline.Add(g.cfg.IdempotencyGrace))
		defer cancel()
		resp, err := g.request(wctx, msg, deadline)
		g.inflight.Add(-1)
		done <- g.settle(rt, reqID, stored, claim, resp, err)
	}()
	var o callOutcome
	select {
	case o = <-done:
	case <-ctx.Done():
		select {
		case o = <-done: // came at the same moment: send it
		default:
			writeError(c, g.log, reqID, ctx.Err()) // 504, or 499 to nobody
			return
		}
	}
	if o.err != nil {
		writeError(c, g.log, reqID, o.err)
		return
	}
	h := c.Writer.Header()
	for k, vs := range o.header {
		h[k] = vs
	}
	writeReply(c, reqID, o.status, o.body)
}

// callOutcome is how a call ended: the function's response, or err.
type callOutcome struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// settle turns a call's result into its outcome and leaves the idempotency
// key with it: completed with whatever the function did, released only
// when the request certainly reached no worker, and left claimed until
// its lease ends when that cannot be known (the connection to NATS was
// lost while waiting: the function may have run, its reply is lost).
func (g *Gateway) settle(rt *route.Route, reqID string, stored []byte, claim *idemClaim, resp *nats.Msg, err error) callOutcome {
	o := callOutcome{header: http.Header{}}
	if err == nil {
		if o.status, o.body, err = event.ParseReply(resp, o.header); err == nil {
			if o.status >= 500 && rt.RecordFailures {
				g.recordFailure(rt, reqID, stored, o.status, record.CodeFunctionStatus, "from the function", &record.Result{StatusCode: o.status, Headers: o.header.Clone(), Body: string(o.body)})
			}
			g.completeIdempotency(claim, reqID, o.status, o.header, o.body)
			return o
		}
	}
	o.err = err
	status, d := classify(err)
	if status >= 500 && status != 499 {
		g.recordFailure(rt, reqID, stored, status, d.Code, d.Code, nil)
	}
	var fe *event.Error
	switch {
	case notDelivered(err), errors.As(err, &fe) && fe.Code == event.CodeInvalidEvent:
		// No worker took it, or the worker refused the event before any
		// function code ran: the retry must be able to run.
		g.releaseIdempotency(claim, reqID)
	case errors.As(err, &fe), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		// The function failed, or it may have run and nothing came back by
		// the end of the grace: that is the outcome, never run again.
		g.completeIdempotency(claim, reqID, status, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, errorBody(reqID, d))
	default:
		g.log.Warn("idempotent call ended without a known outcome; its key stays claimed until its lease ends", "request_id", reqID, "err", err)
	}
	return o
}

// notDelivered reports errors after which the request certainly reached no
// worker: NATS answered that nobody is subscribed, or refused to send it.
// (A lost connection is not one: the message may have gone out before.)
func notDelivered(err error) bool {
	return errors.Is(err, ErrNoWorker) || errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrMaxPayload) ||
		errors.Is(err, nats.ErrBadSubject) || errors.Is(err, nats.ErrInvalidMsg)
}

// storedEvent is the event as invocation records keep it: the values of
// the headers in RedactHeaders replaced by event.Redacted, so that credentials
// do not sit in Redis and in the admin view for the record's lifetime.
// The function is sent payload, unredacted; a replay runs the stored form.
// Without such a header it is payload itself.
func (g *Gateway) storedEvent(req *event.Request, payload []byte) []byte {
	var h http.Header
	for k, vs := range req.Header {
		if !g.redact[k] {
			continue
		}
		if h == nil {
			h = req.Header.Clone()
		}
		red := make([]string, len(vs))
		for i := range red {
			red[i] = event.Redacted
		}
		h[k] = red
	}
	if h == nil {
		return payload
	}
	r := *req
	r.Header = h
	return event.AppendRequest(make([]byte, 0, len(payload)+64), &r)
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // let large bodies go to the GC
	}
	b.Reset()
	bufPool.Put(b)
}

// readBody reads at most MaxBodyBytes into buf and returns the body bytes
// and the bytes it holds of the gateway's body budget (the caller releases
// them). A declared or actual larger body is ErrBodyTooLarge, before
// anything is published; a body that does not fit the budget is
// ErrOverloaded, a declared one before a byte of it is read. The buffer
// grows as bytes arrive, never to a declared length: a caller that
// declares much and sends little holds budget, not memory.
func (g *Gateway) readBody(c *gin.Context, buf *bytes.Buffer) ([]byte, int64, error) {
	r := c.Request
	if r.ContentLength > g.cfg.MaxBodyBytes {
		return nil, 0, ErrBodyTooLarge
	}
	if r.Body == nil || r.ContentLength == 0 {
		buf.Grow(2048) // room for the event
		return nil, 0, nil
	}
	var held int64
	var src io.Reader = http.MaxBytesReader(c.Writer, r.Body, g.cfg.MaxBodyBytes)
	var chunked *budgetReader
	if r.ContentLength > 0 {
		if !g.admit.reserve(r.ContentLength) {
			g.metrics.refusedBytes.Inc()
			return nil, 0, ErrOverloaded
		}
		held = r.ContentLength
	} else {
		chunked = &budgetReader{r: src, a: &g.admit}
		src = chunked
	}
	_, err := buf.ReadFrom(src)
	if chunked != nil {
		held = chunked.n
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil || err == io.EOF:
	case errors.As(err, &mbe):
		err = ErrBodyTooLarge
	case errors.Is(err, errBodyBudget):
		g.metrics.refusedBytes.Inc()
		err = ErrOverloaded
	default:
		err = errors.Join(ErrBadRequest, err)
	}
	if err != nil {
		g.admit.release(held)
		return nil, 0, err
	}
	n := buf.Len()
	b := buf.Bytes()
	// The event encoding appends after the body in the same buffer.
	buf.Grow(2*n + 2048)
	return b[:n:n], held, nil
}

// headerSize approximates the bytes of the request line and headers.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Host) + 16
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// request sends msg and waits for the reply until ctx ends. While no worker
// is subscribed (NATS answers "no responders" at once) it retries with
// exponential backoff, since workers may be starting, for at most
// NoWorkerWait and until the call's deadline (a worker drops a call that
// arrives after it); then it gives up with ErrNoWorker.
func (g *Gateway) request(ctx context.Context, msg *nats.Msg, deadline time.Time) (*nats.Msg, error) {
	resp, err := g.nats.RequestMsgWithContext(ctx, msg)
	if !errors.Is(err, nats.ErrNoResponders) {
		return resp, err
	}
	until := time.Now().Add(g.cfg.NoWorkerWait)
	if deadline.Before(until) {
		until = deadline
	}
	wctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(25*time.Millisecond),
		backoff.WithMaxInterval(500*time.Millisecond),
		backoff.WithMaxElapsedTime(0),
	)
	last := err
	g.metrics.noResponse.Inc()
	resp, err = backoff.RetryWithData(func() (*nats.Msg, error) {
		// The attempt itself runs under the route's deadline: once a worker
		// takes it, it gets the whole remaining time.
		resp, err := g.nats.RequestMsgWithContext(ctx, msg)
		last = err
		if err != nil && !errors.Is(err, nats.ErrNoResponders) {
			return nil, backoff.Permanent(err)
		}
		return resp, err
	}, backoff.WithContext(b, wctx))
	if err != nil && errors.Is(last, nats.ErrNoResponders) {
		return nil, ErrNoWorker // no worker, not a slow one
	}
	return resp, err
}

// sourceIP is the caller's address: the peer's, or with trusted proxies
// configured, what gin's ClientIP makes of X-Forwarded-For. (Without any,
// the header lookups and IP parsing of ClientIP are skipped.)
func (g *Gateway) sourceIP(c *gin.Context) string {
	if len(g.cfg.TrustedProxies) > 0 {
		return c.ClientIP()
	}
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		return c.Request.RemoteAddr
	}
	return host
}
