package sdk

import "context"

type ctxKey struct{}

// Info describes the invocation a handler is running.
type Info struct {
	RequestID    string
	FunctionName string
	// TraceParent is the W3C trace context of the call.
	TraceParent string
}

// WithInfo returns a copy of ctx that carries i. Runtimes (package worker,
// fntest) call it before invoking a handler.
func WithInfo(ctx context.Context, i Info) context.Context {
	return context.WithValue(ctx, ctxKey{}, i)
}

// InfoFrom returns the invocation info carried by ctx.
func InfoFrom(ctx context.Context) (Info, bool) {
	i, ok := ctx.Value(ctxKey{}).(Info)
	return i, ok
}
