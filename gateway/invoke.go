package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
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
	if !rt.AllowsMethod(r.Method) {
		c.Header("Allow", strings.Join(rt.Methods, ", "))
		writeError(c, g.log, reqID, ErrMethodNotAllowed)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	body, err := g.readBody(c, buf)
	if err != nil {
		writeError(c, g.log, reqID, err)
		return
	}
	ev := g.newEvent(r, rt, reqID, c.ClientIP())
	ev.SetBody(body)

	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(rt.Timeout))
	defer cancel()
	deadline, _ := ctx.Deadline()
	subj, err := subject.Invoke(rt.Function)
	if err != nil { // unreachable for a normalised route; never publish it
		writeError(c, g.log, reqID, err)
		return
	}
	payload := ev.AppendJSON(buf.AvailableBuffer()[:0])
	msg := &nats.Msg{
		Subject: subj,
		Header: nats.Header{
			subject.HeaderRequestID: {reqID},
			subject.HeaderDeadline:  {strconv.FormatInt(deadline.UnixMilli(), 10)},
		},
		Data: payload,
	}
	resp, err := g.request(ctx, msg)
	if err != nil {
		writeError(c, g.log, reqID, err)
		return
	}
	reply, err := event.ParseReply(resp)
	if err != nil {
		writeError(c, g.log, reqID, err)
		return
	}
	h := c.Writer.Header()
	for k, vs := range reply.Header {
		if k != HeaderRequestID {
			h[k] = vs
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(reply.Body)))
	c.Writer.WriteHeader(reply.Status)
	_, _ = c.Writer.Write(reply.Body)
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

// newEvent builds the event for r; the body is set by the caller.
func (g *Gateway) newEvent(r *http.Request, rt *route.Route, reqID, ip string) *event.Event {
	ev := &event.Event{
		Path:              rt.EventPath(r.URL.Path),
		HTTPMethod:        r.Method,
		Headers:           make(map[string]string, len(r.Header)+1),
		MultiValueHeaders: make(map[string][]string, len(r.Header)+1),
		RequestContext: event.RequestContext{
			RequestID:    reqID,
			EnvID:        g.cfg.EnvID,
			FunctionName: rt.Function,
			Domain:       route.NormalizeHost(r.Host),
			SourceIP:     ip,
			TriggerPath:  rt.Path,
		},
	}
	for k, vs := range r.Header {
		lk := lowerASCII(k)
		ev.Headers[lk] = vs[len(vs)-1]
		ev.MultiValueHeaders[lk] = vs
	}
	// Go moves Host out of the header map; functions expect it there.
	if r.Host != "" {
		ev.Headers["host"] = r.Host
		ev.MultiValueHeaders["host"] = []string{r.Host}
	}
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		ev.QueryStringParameters = make(map[string]string, len(q))
		ev.MultiValueQueryStringParameters = q
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
		}
	} else {
		ev.QueryStringParameters = map[string]string{}
		ev.MultiValueQueryStringParameters = map[string][]string{}
	}
	return ev
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
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
