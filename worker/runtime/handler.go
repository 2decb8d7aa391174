package runtime

import (
	"context"
	"errors"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// handler runs one function of a Runtime.
type handler struct {
	rt   *Runtime
	name string
	fn   *function // nil for a name the runtime does not have
}

var (
	_ worker.RawHandler   = (*handler)(nil)
	_ worker.RuntimeNamer = (*handler)(nil)
)

// RuntimeName labels the function's metrics with its language ("node",
// "python"; "node" for a name the runtime does not have).
func (h *handler) RuntimeName() string {
	if h.fn == nil {
		return RuntimeNode
	}
	return h.fn.language().Name()
}

// Invoke encodes ev and calls InvokeRaw.
func (h *handler) Invoke(ctx context.Context, ev *event.Event) (any, error) {
	return h.InvokeRaw(ctx, ev.AppendJSON(nil))
}

// InvokeRaw passes the event JSON to the function unparsed. The result is
// the function's return value as a json.RawMessage (null for undefined).
func (h *handler) InvokeRaw(ctx context.Context, ev []byte) (any, error) {
	if h.fn == nil {
		return nil, &event.Error{Code: event.CodeLoadError, Message: "no function " + h.name + " in " + h.rt.cfg.Dir}
	}
	if h.rt.ctx.Err() != nil {
		return nil, errClosed
	}
	if err := h.fn.begin(ctx); err != nil {
		return nil, err
	}
	defer h.fn.end()
	p, err := h.fn.acquire(ctx)
	if err != nil {
		return nil, err
	}
	return p.call(ctx, ev)
}

// timeoutError is the error for a call whose ctx ended before it could run.
func timeoutError(ctx context.Context, msg string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &event.Error{Code: event.CodeTimeout, Message: msg + " before the deadline"}
	}
	return ctx.Err()
}

func requestID(ctx context.Context) string {
	if i, ok := sdk.InfoFrom(ctx); ok {
		return i.RequestID
	}
	return ""
}
