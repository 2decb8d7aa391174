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

// RuntimeGo labels the metrics of functions the worker runs in its own
// process: every handler that is not a [RuntimeNamer].
const RuntimeGo = "go"

// RuntimeNamer is implemented by handlers that a runtime outside the
// worker's process hosts (package node's: "node"). The worker labels the
// function's invocations and durations with the name (the runtime label
// of fngate_worker_invocations_total), so that dashboards tell runtimes
// apart.
type RuntimeNamer interface {
	RuntimeName() string
}
