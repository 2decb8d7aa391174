package sdk

// Middleware wraps a handler to run code around every invocation: logging,
// authentication, recovering, timing. It is the shape of asynq's and
// Watermill's middleware.
type Middleware func(Handler) Handler

// Use returns h wrapped in mw, the first outermost: Use(h, a, b) runs a,
// which calls b, which calls h. With no middleware it returns h itself.
func Use(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
