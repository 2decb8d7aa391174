package worker

import (
	"context"

	"github.com/fngate/fngate/worker/sdk"
)

// RawHandler is implemented by handlers that take the event as the JSON the
// gateway sent, such as the Node.js runtime, which passes it on unparsed.
// The worker calls InvokeRaw instead of decoding the event for Invoke.
//
// A runtime's result follows the CloudBase rule (event.FromValue): a
// json.RawMessage object with a statusCode key is an envelope.
type RawHandler interface {
	sdk.Handler
	InvokeRaw(ctx context.Context, event []byte) (any, error)
}
