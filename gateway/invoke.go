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
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/store"
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
	if headerSize(r) > g.cfg.MaxHeaderBytes {
		writeError(c, g.log, reqID, ErrHeadersTooLarge)
		return
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
	body, err := g.readBody(c, buf)
	if err != nil {
		writeError(c, g.log, reqID, err)
		return
	}
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
	g.inflight.Add(1)
	resp, err := g.request(ctx, msg)
	g.inflight.Add(-1)
	if err == nil {
		h := c.Writer.Header()
		var status int
		var rbody []byte
		if status, rbody, err = event.ParseReply(resp, h); err == nil {
			if status >= 500 && rt.RecordFailures {
				g.recordFailure(rt, reqID, g.storedEvent(req, payload), status, store.CodeFunctionStatus, "from the function", &store.Result{StatusCode: status, Headers: h.Clone(), Body: string(rbody)})
			}
			// Stored before it is sent: a retry must never run it again.
			g.completeIdempotency(claim, reqID, status, h, rbody)
			h[HeaderRequestID] = []string{reqID} // ours, whatever the function set
			h["Content-Length"] = []string{strconv.Itoa(len(rbody))}
			c.Writer.WriteHeader(status)
			_, _ = c.Writer.Write(rbody)
			return
		}
	}
	if status, d := classify(err); status >= 500 && status != 499 {
		g.recordFailure(rt, reqID, g.storedEvent(req, payload), status, d.Code, d.Code, nil)
	}
	// No result from the function: the client's retry must be able to run.
	g.releaseIdempotency(claim, reqID)
	writeError(c, g.log, reqID, err)
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

// readBody reads at most MaxBodyBytes into buf and returns the body bytes.
// A declared or actual larger body is ErrBodyTooLarge, before anything is
// published.
func (g *Gateway) readBody(c *gin.Context, buf *bytes.Buffer) ([]byte, error) {
	r := c.Request
	if r.ContentLength > g.cfg.MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	if r.Body == nil || r.ContentLength == 0 {
		buf.Grow(2048) // room for the event
		return nil, nil
	}
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, r.Body, g.cfg.MaxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, ErrBodyTooLarge
	case err != nil && err != io.EOF:
		return nil, errors.Join(ErrBadRequest, err)
	}
	n := buf.Len()
	b := buf.Bytes()
	// The event encoding appends after the body in the same buffer.
	buf.Grow(2*n + 2048)
	return b[:n:n], nil
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

// request sends msg and waits for the reply. While no worker is subscribed
// (NATS answers "no responders" at once) it retries with exponential
// backoff, since workers may be starting, for at most NoWorkerWait and
// within ctx's deadline; then it gives up with ErrNoWorker.
func (g *Gateway) request(ctx context.Context, msg *nats.Msg) (*nats.Msg, error) {
	resp, err := g.nats.RequestMsgWithContext(ctx, msg)
	if !errors.Is(err, nats.ErrNoResponders) {
		return resp, err
	}
	wctx, cancel := context.WithTimeout(ctx, g.cfg.NoWorkerWait)
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
