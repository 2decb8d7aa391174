package gateway

import (
	"errors"
	"fmt"
)

// Refusals that keep the invocation queue bounded.
var (
	// ErrQueueFull: JetStream refused the publish because the invocation
	// stream holds FNGATE_QUEUE_MAX_BYTES, or the server is out of
	// JetStream storage (see queue.IsFull); nothing was queued.
	ErrQueueFull = errors.New("the invocation queue is full; retry later")
	// ErrAsyncNotAllowed answers an X-Invocation-Type asking to queue a
	// call of a route with allowAsync false.
	ErrAsyncNotAllowed = errors.New("this route does not accept asynchronous invocations (allowAsync is false)")
	// ErrAsyncBodyTooLarge is ErrBodyTooLarge for the lower limit of
	// bodies that are queued (FNGATE_ASYNC_MAX_BODY).
	ErrAsyncBodyTooLarge = fmt.Errorf("%w for an asynchronous invocation", ErrBodyTooLarge)
)
