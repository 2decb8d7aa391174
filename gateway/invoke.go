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

// exchange is one public request being served.
type exchange struct {
	c           *gin.Context
	reqID       string
	label, mode string // for the metrics: the route's label, "sync" or "async"
}

// response is how a public request is answered: err's error body, or
// status, header (added to what the writer holds already: the request id,
// CORS and, on the sync path, the function's headers parsed into it) and
// body. Steps return one; invoke writes it, in respond.
type response struct {
	status   int
	header   http.Header
	body     []byte
	err      error
	replayed bool // a stored idempotent response
	streamed bool // written already, as it came (stream.go)
}

// failed is the response of err.
func failed(err error) response { return response{err: err} }

// invoke serves one public request: it is admitted, serve runs the steps,
// and respond writes what they returned. The admission slot is held until
// the response is written.
func (g *Gateway) invoke(c *gin.Context) {
	start := time.Now()
	x := exchange{c: c, reqID: requestID(c.Request), mode: "sync"}
	defer func() { g.metrics.observe(x.label, x.mode, c.Writer.Status(), start) }()
	c.Header(HeaderRequestID, x.reqID)
	var res response
	if g.admit.enter() {
		defer g.admit.leave()
		res = g.serve(&x)
	} else {
		g.metrics.refusedReqs.Inc()
		res = failed(ErrOverloaded)
	}
	g.respond(&x, res)
}

// serve runs the steps of a public request; each returns the response or
// lets the next run: match the route, read the body, claim the
// idempotency key, build the event, then queue it or call the function.
// The body's buffer and budget are given back when it returns: no
// response it returns refers to them.
func (g *Gateway) serve(x *exchange) response {
	r := x.c.Request
	if headerSize(r) > g.cfg.MaxHeaderBytes {
		return failed(ErrHeadersTooLarge)
	}
	rt, res, done := g.route(x)
	if done {
		return res
	}
	async, opts, err := g.invocationMode(rt, r.Header)
	if err != nil {
		return failed(err)
	}
	subj, err := subject.Invoke(rt.Function)
	if err != nil { // unreachable for a normalised route; never publish it
		return failed(err)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	limit, tooLarge := g.cfg.MaxBodyBytes, ErrBodyTooLarge
	if async {
		limit, tooLarge = g.cfg.AsyncMaxBody, ErrAsyncBodyTooLarge
	}
	body, held, err := g.readBody(x.c, buf, limit, tooLarge)
	if err != nil {
		return failed(err)
	}
	defer g.admit.release(held)
	// The route's timeout covers the whole call, an idempotency claim
	// included.
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(rt.Timeout))
	defer cancel()
	claim, res, done := g.claimIdempotency(ctx, r, rt, x.reqID, body)
	if done {
		return res
	}
	req := g.requestEvent(x, rt, body)
	payload := event.Append(buf.AvailableBuffer()[:0], &req)
	if async {
		x.mode = "async"
		if claim == nil {
			res, _ := g.accept(ctx, rt, x.reqID, req.Context.TraceParent, payload, opts)
			return res
		}
		return g.keyed(claim, x.reqID, func() (response, keyFate) {
			return g.accept(ctx, rt, x.reqID, req.Context.TraceParent, payload, opts)
		})
	}
	deadline, _ := ctx.Deadline()
	call := event.Call{RequestID: x.reqID, Deadline: deadline, TraceParent: req.Context.TraceParent}
	fb, err := g.fallbackFor(rt, r.Header, len(body), deadline)
	if err != nil {
		return failed(err)
	}
	if fb != nil {
		call.Fallback = &fb.Fallback
	}
	call.Collect = claim != nil // a key stores whole responses: no stream
	msg := &nats.Msg{Subject: subj, Header: call.Header(), Data: payload}
	if claim != nil {
		return g.callClaimed(ctx, rt, &req, msg, claim, fb)
	}
	if fb != nil {
		return g.callFallback(ctx, x, rt, &req, payload, msg, fb, deadline)
	}
	g.inflight.Add(1)
	resp, err := g.request(ctx, msg, deadline)
	g.inflight.Add(-1)
	if id := event.StreamOf(resp); id != "" && err == nil {
		return g.stream(x.c, x.reqID, x.label, resp, id, rt.StreamIdle(), deadline)
	}
	// The function's headers go straight into the writer's.
	res, _ = g.replied(rt, x.reqID, x.c.Writer.Header(), &req, payload, nil, resp, err)
	return res
}

// requestEvent is the event of the request to rt, whose body is body.
func (g *Gateway) requestEvent(x *exchange, rt *route.Route, body []byte) event.Request {
	r := x.c.Request
	return event.Request{
		Method:   r.Method,
		Path:     rt.EventPath(r.URL.Path),
		Host:     r.Host,
		Header:   r.Header,
		RawQuery: r.URL.RawQuery,
		Body:     body,
		Context: event.RequestContext{
			RequestID:    x.reqID,
			EnvID:        g.cfg.EnvID,
			FunctionName: rt.Function,
			Domain:       route.NormalizeHost(r.Host),
			SourceIP:     g.sourceIP(x.c),
			TriggerPath:  rt.Path,
			TraceParent:  traceParent(r.Header),
		},
		Format: rt.PayloadFormat,
		Proto:  r.Proto,
	}
}

// route matches the request, on its cleaned path, to a route and answers
// what the route answers before any body is read: CORS preflights and
// methods it does not allow.
func (g *Gateway) route(x *exchange) (_ *route.Route, _ response, done bool) {
	r := x.c.Request
	// Matching, the idempotency fingerprint and the event all see the
	// cleaned path: "/public/../pay" is "/pay", with /pay's rules.
	clean, err := route.CleanPath(r.URL.Path, r.URL.RawPath)
	if err != nil {
		return nil, failed(err), true
	}
	if clean != r.URL.Path {
		r.URL.Path, r.URL.RawPath = clean, ""
	}
	tab := g.table.Load()
	if tab == nil {
		return nil, failed(ErrRoutesUnavailable), true
	}
	rt := tab.Match(r.Host, r.URL.Path)
	if rt == nil {
		return nil, failed(ErrRouteNotFound), true
	}
	x.label = rt.Label()
	if res, done := g.cors(x.c, rt); done {
		return nil, res, true
	}
	if !rt.AllowsMethod(r.Method) {
		return nil, response{err: ErrMethodNotAllowed, header: http.Header{"Allow": {strings.Join(rt.Methods, ", ")}}}, true
	}
	return rt, response{}, false
}

// respond writes res: the one place a public request is answered.
func (g *Gateway) respond(x *exchange, res response) {
	if res.streamed {
		return
	}
	c := x.c
	h := c.Writer.Header()
	for k, vs := range res.header {
		h[k] = vs
	}
	if res.err != nil {
		writeError(c, g.log, x.reqID, res.err)
		return
	}
	h[HeaderRequestID] = []string{x.reqID} // ours, whatever the function set
	if res.replayed {
		h[HeaderIdempotentReplayed] = []string{"true"}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(res.body))}
	c.Writer.WriteHeader(res.status)
	_, _ = c.Writer.Write(res.body)
}

// replied turns what a call brought back (resp, or err) into its
// response, parsing the function's headers into h, records a failure for
// a route with RecordFailures, and tells what the outcome means for an
// idempotency key. The record keeps stored, or when that is nil the
// redacted form of req (with payload its encoding), built only then.
// (req is passed apart from stored so that it stays on the caller's
// stack.)
func (g *Gateway) replied(rt *route.Route, reqID string, h http.Header, req *event.Request, payload, stored []byte, resp *nats.Msg, err error) (response, keyFate) {
	storedEvent := func() []byte {
		if stored == nil {
			return g.storedEvent(req, payload)
		}
		return stored
	}
	if err == nil {
		var res response
		if res.status, res.body, err = event.ParseReply(resp, h); err == nil {
			if res.status >= 500 && rt.RecordFailures {
				g.recordFailure(rt, reqID, storedEvent(), res.status, record.CodeFunctionStatus, "from the function", &record.Result{StatusCode: res.status, Headers: h.Clone(), Body: string(res.body)})
			}
			return res, keyComplete
		}
	}
	if status, d := classify(err); status >= 500 && status != 499 && rt.RecordFailures {
		g.recordFailure(rt, reqID, storedEvent(), status, d.Code, d.Code, nil)
	}
	var fe *event.Error
	switch {
	case notDelivered(err), errors.As(err, &fe) && fe.Code == event.CodeInvalidEvent:
		// No worker took it, or the worker refused the event before any
		// function code ran: the retry must be able to run.
		return failed(err), keyRelease
	case errors.As(err, &fe), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		// The function failed, or it may have run and nothing came back by
		// the end of the grace: that is the outcome, never run again.
		return failed(err), keyComplete
	}
	return failed(err), keyUnknown
}

// callClaimed makes a call that holds an idempotency key. Once the request
// may have reached a worker, the key must end up holding what the function
// did, or a retry would run it again. So the wait for the reply is not the
// client's: it runs detached from the request until the route's deadline
// plus IdempotencyGrace (the worker gives the function the route's
// deadline; a handler that overruns it still replies). The client gets the
// reply if it comes within the route's deadline, else 504 (or nothing, if
// it left); a later reply still completes the key for the retry to replay.
// A call that may fall back (fb not nil) answers 202 at the wait's end
// and stores it under the key, so that a retry during the run gets the
// same 202; the reply, when it comes, replaces it.
func (g *Gateway) callClaimed(ctx context.Context, rt *route.Route, req *event.Request, msg *nats.Msg, claim *idemClaim, fb *fallback) response {
	reqID := req.Context.RequestID
	msg.Data = bytes.Clone(msg.Data) // outlives this handler and its pooled buffer
	// The record of a failure keeps the redacted event; req's body is in
	// the pooled buffer, so it is built now, not in the detached wait.
	stored := msg.Data
	if rt.RecordFailures {
		stored = g.storedEvent(req, msg.Data)
	}
	deadline, _ := ctx.Deadline()
	waited := newFallbackWait(fb)
	defer waited.stop()
	done := make(chan response, 1)
	g.inflight.Add(1)
	g.settling.Add(1)
	go func() {
		defer g.settling.Done()
		wctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline.Add(g.cfg.IdempotencyGrace))
		defer cancel()
		done <- g.keyed(claim, reqID, func() (response, keyFate) {
			resp, err := g.request(wctx, msg, deadline)
			g.inflight.Add(-1)
			waited.settle()
			h := http.Header{}
			res, fate := g.replied(rt, reqID, h, nil, nil, stored, resp, err)
			if res.err == nil {
				res.header = h
			}
			return res, fate
		})
	}()
	select {
	case res := <-done:
		return res
	case <-waited.end():
		if res, ok := waited.fellBack(func() response {
			res := g.fellBack(rt, fb, reqID, g.storedEvent(req, msg.Data))
			g.completeIdempotency(claim, reqID, res.status, res.header, res.body)
			return res
		}); ok {
			return res
		}
		return <-done // the reply came first: it completes the key
	case <-ctx.Done():
		select {
		case res := <-done: // came at the same moment: send it
			return res
		default:
			return failed(ctx.Err()) // 504, or 499 to nobody
		}
	}
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
	return event.Append(make([]byte, 0, len(payload)+64), &r)
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // let large bodies go to the GC
	}
	b.Reset()
	bufPool.Put(b)
}

// readBody reads at most limit bytes into buf and returns the body bytes
// and the bytes it holds of the gateway's body budget (the caller releases
// them). A declared or actual larger body is tooLarge, before anything is
// published; a body that does not fit the budget is
// ErrOverloaded, a declared one before a byte of it is read. The buffer
// grows as bytes arrive, never to a declared length: a caller that
// declares much and sends little holds budget, not memory.
func (g *Gateway) readBody(c *gin.Context, buf *bytes.Buffer, limit int64, tooLarge error) ([]byte, int64, error) {
	r := c.Request
	if r.ContentLength > limit {
		return nil, 0, tooLarge
	}
	if r.Body == nil || r.ContentLength == 0 {
		buf.Grow(2048) // room for the event
		return nil, 0, nil
	}
	var held int64
	var src io.Reader = http.MaxBytesReader(c.Writer, r.Body, limit)
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
		err = tooLarge
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
