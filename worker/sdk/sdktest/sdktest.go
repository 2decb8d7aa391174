package sdktest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/worker/sdk"
)

// Request is the HTTP request an event is built from. Every field is
// optional.
type Request struct {
	// Method defaults to GET.
	Method string
	// Path is the event path (after a route's stripPrefix); default "/".
	Path    string
	Query   url.Values
	Headers http.Header
	Body    []byte
	// Host is the request's Host; default "localhost". The event's domain
	// is derived from it as the gateway does.
	Host string
	// Function names the function being called; default "sdktest".
	Function string
	// RequestID defaults to "sdktest".
	RequestID string
	// TriggerPath is the path of the route that matched; default Path.
	TriggerPath string
	// TraceParent is the caller's W3C traceparent, if any.
	TraceParent string
	// Timeout is the handler's context deadline from now; default the
	// timeout of a route that sets none (route.DefaultTimeout).
	Timeout time.Duration
}

// Response is the HTTP response the function chose.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("sdktest: body %q is not JSON: %w", r.Body, err)
	}
	return nil
}

// rawHandler is a handler that takes the event JSON unparsed, as the
// worker's RawHandler does.
type rawHandler interface {
	InvokeRaw(ctx context.Context, event []byte) (any, error)
}

// Invoke runs h for r as the worker would and returns the response, or the
// handler's error as it returned it (so a test can check it with
// [sdk.IsPermanent] or errors.As for [sdk.RetryAfterError]). A result
// that is no valid HTTP response (a status out of range, a value that
// cannot be encoded) is an [*event.Error] with code
// [event.CodeInvalidResponse], as in production.
//
// The handler's context is ctx (a test passes t.Context()) with the
// request's deadline and [sdk.Info]. A panic is not recovered, so it
// fails the test with its stack.
func Invoke(ctx context.Context, h sdk.Handler, r Request) (*Response, error) {
	req := request(r)
	payload := event.AppendRequest(nil, req)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = route.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = sdk.WithInfo(ctx, sdk.Info{RequestID: req.Context.RequestID, FunctionName: req.Context.FunctionName, TraceParent: req.Context.TraceParent})

	var res any
	var err error
	if raw, ok := h.(rawHandler); ok {
		res, err = raw.InvokeRaw(ctx, payload)
	} else {
		ev, derr := event.Decode(payload)
		if derr != nil { // a bug in package event: what it encodes, it decodes
			return nil, fmt.Errorf("sdktest: the event does not decode: %w", derr)
		}
		res, err = h.Invoke(ctx, ev)
	}
	if err != nil {
		return nil, err
	}
	if sr, ok := res.(*sdk.StreamResponse); ok {
		return collect(ctx, sr)
	}
	reply, err := event.FromGo(res)
	if err != nil {
		return nil, err
	}
	if reply.Header == nil {
		reply.Header = http.Header{}
	}
	return &Response{Status: reply.Status, Header: reply.Header, Body: reply.Body}, nil
}

// request fills in r's defaults and builds the gateway's view of it.
func request(r Request) *event.Request {
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if r.Path == "" {
		r.Path = "/"
	}
	if r.Host == "" {
		r.Host = "localhost"
	}
	if r.Function == "" {
		r.Function = "sdktest"
	}
	if r.RequestID == "" {
		r.RequestID = "sdktest"
	}
	if r.TriggerPath == "" {
		r.TriggerPath = r.Path
	}
	header := make(http.Header, len(r.Headers))
	for k, vs := range r.Headers {
		header[http.CanonicalHeaderKey(k)] = vs
	}
	return &event.Request{
		Method:   r.Method,
		Path:     r.Path,
		Host:     r.Host,
		Header:   header,
		RawQuery: r.Query.Encode(),
		Body:     r.Body,
		Context: event.RequestContext{
			RequestID:    r.RequestID,
			FunctionName: r.Function,
			Domain:       route.NormalizeHost(r.Host),
			SourceIP:     "127.0.0.1",
			TriggerPath:  r.TriggerPath,
			TraceParent:  r.TraceParent,
		},
	}
}

// collect runs a streamed response's body (#17) and returns the response
// with the body concatenated, as an asynchronous invocation records it.
// Its status defaults to 200.
func collect(ctx context.Context, sr *sdk.StreamResponse) (*Response, error) {
	var body bytes.Buffer
	if sr.Body != nil {
		if err := sr.Body(ctx, &body); err != nil {
			return nil, err
		}
	}
	h := sr.Header
	if h == nil {
		h = http.Header{}
	}
	return &Response{Status: cmp.Or(sr.StatusCode, http.StatusOK), Header: h, Body: body.Bytes()}, nil
}
