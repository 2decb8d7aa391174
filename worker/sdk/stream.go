package sdk

import (
	"context"
	"io"
	"net/http"
)

// StreamResponse is a response whose body a function writes while the
// client reads it (server-sent events, token-by-token output). A handler
// returns one, usually built with [Stream]; the runtime sends the status
// and headers, then runs Body, sending each Write as one chunk at once.
//
// Streams are synchronous only: an asynchronous invocation (and a
// caller that cannot stream) gets the concatenated body, capped as any
// recorded result is.
type StreamResponse struct {
	StatusCode int
	Header     http.Header
	// Body writes the response body to w. Its ctx is not the handler's:
	// the call's deadline bounds the time to the first Write only, and
	// ctx ends when the client goes away or the stream is silent longer
	// than the route's streamIdleTimeout. A Write blocks while the client
	// is behind (nothing piles up in between) and fails once ctx has
	// ended. An error returned after the first Write ends the stream
	// early; the client sees a response cut short.
	Body func(ctx context.Context, w io.Writer) error
}

// Stream returns a StreamResponse with the status, headers (may be nil)
// and body.
func Stream(status int, header http.Header, body func(ctx context.Context, w io.Writer) error) *StreamResponse {
	return &StreamResponse{StatusCode: status, Header: header, Body: body}
}
