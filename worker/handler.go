package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/fngate/fngate/shared/event"
)

// Handler runs a function for one event.
//
// The returned value becomes the HTTP response: an [event.Response] (or
// pointer to one) is used as given, a string is sent as text/plain, nil as an
// empty 200, and anything else is encoded as JSON. An error becomes a 502
// for the caller; its message is logged, never sent.
type Handler interface {
	Invoke(ctx context.Context, ev *event.Event) (any, error)
}

// RawHandler is implemented by handlers that take the event as the JSON the
// gateway sent, such as the Node.js runtime, which passes it on unparsed.
// The worker calls InvokeRaw instead of decoding the event for Invoke.
type RawHandler interface {
	Handler
	InvokeRaw(ctx context.Context, event []byte) (any, error)
}

// HandlerFunc adapts an ordinary function to a Handler.
type HandlerFunc func(ctx context.Context, ev *event.Event) (any, error)

// Invoke calls f(ctx, ev).
func (f HandlerFunc) Invoke(ctx context.Context, ev *event.Event) (any, error) { return f(ctx, ev) }

// JSON adapts a function that takes the request body decoded as In and
// returns Out, sent as application/json. A body that does not decode as In
// is answered 400 with {"error": "..."} without calling f; an empty body
// leaves In at its zero value.
//
// Out is data, never an envelope, even when it has a statusCode field: only
// an [event.Response] (or pointer to one) chooses the status and headers.
func JSON[In, Out any](f func(ctx context.Context, ev *event.Event, in In) (Out, error)) Handler {
	return HandlerFunc(func(ctx context.Context, ev *event.Event) (any, error) {
		var in In
		body, err := ev.BodyBytes()
		if err == nil && len(body) > 0 {
			err = json.Unmarshal(body, &in)
		}
		if err != nil {
			msg, _ := json.Marshal(map[string]string{"error": "request body is not valid JSON for this function: " + err.Error()})
			return &event.Response{StatusCode: http.StatusBadRequest, Body: string(msg)}, nil
		}
		out, err := f(ctx, ev, in)
		if err != nil {
			return nil, err
		}
		// The result is data: event.FromGo encodes it as JSON and never
		// reads a statusCode field as an envelope. A json.RawMessage would
		// be read by the CloudBase rule (it is what the Node.js runtime
		// returns), so it travels as plainJSON instead.
		v := any(out)
		if raw, ok := v.(json.RawMessage); ok {
			return plainJSON(raw), nil
		}
		return v, nil
	})
}

// plainJSON is JSON text that is sent as it is, never read as an envelope.
type plainJSON []byte

func (p plainJSON) MarshalJSON() ([]byte, error) {
	if len(p) == 0 {
		return []byte("null"), nil
	}
	return p, nil
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying will not fix (an invalid event, a
// business rule): asynchronous invocations that fail with it are not retried.
func Permanent(err error) error { return &permanentError{err} }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfterError asks for the invocation to be retried no sooner than After.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter asks for an asynchronous invocation that failed with err to be
// retried no sooner than d.
func RetryAfter(d time.Duration, err error) error { return &RetryAfterError{After: d, Err: err} }

type ctxKey struct{}

// Info describes the invocation a handler is running.
type Info struct {
	RequestID    string
	FunctionName string
	// TraceParent is the W3C trace context of the call.
	TraceParent string
}

// InfoFrom returns the invocation info carried by ctx.
func InfoFrom(ctx context.Context) (Info, bool) {
	i, ok := ctx.Value(ctxKey{}).(Info)
	return i, ok
}
