package sdk

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/fngate/fngate/shared/event"
)

// Event is what a function receives for one HTTP request.
type Event = event.Event

// Response is the envelope a function returns to choose its HTTP status,
// headers and body.
type Response = event.Response

// Handler runs a function for one event.
//
// The returned value becomes the HTTP response: a [Response] (or pointer to
// one) is used as given, a string is sent as text/plain, nil as an empty
// 200, and anything else is encoded as JSON. An error becomes a 502 for the
// caller; its message is logged, never sent.
type Handler interface {
	Invoke(ctx context.Context, ev *Event) (any, error)
}

// HandlerFunc adapts an ordinary function to a Handler.
type HandlerFunc func(ctx context.Context, ev *Event) (any, error)

// Invoke calls f(ctx, ev).
func (f HandlerFunc) Invoke(ctx context.Context, ev *Event) (any, error) { return f(ctx, ev) }

// JSON adapts a function that takes the request body decoded as In and
// returns Out, sent as application/json. A body that does not decode as In
// is answered 400 with {"error": "..."} without calling f; an empty body
// leaves In at its zero value.
//
// Out is data, never an envelope, even when it has a statusCode field: only
// a [Response] (or pointer to one) chooses the status and headers.
func JSON[In, Out any](f func(ctx context.Context, ev *Event, in In) (Out, error)) Handler {
	return HandlerFunc(func(ctx context.Context, ev *Event) (any, error) {
		var in In
		body, err := ev.BodyBytes()
		if err == nil && len(body) > 0 {
			err = json.Unmarshal(body, &in)
		}
		if err != nil {
			msg, _ := json.Marshal(map[string]string{"error": "request body is not valid JSON for this function: " + err.Error()})
			return &Response{StatusCode: http.StatusBadRequest, Body: string(msg)}, nil
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
