// Package sdk is the API for writing fngate functions in Go, apart from
// the runtime that serves them: a function's package and its tests import
// this (and sdktest), which link no Redis client, Prometheus, JetStream
// or worker runtime (TestFunctionAPIStaysSmall keeps it so).
//
// A function is a [Handler], shaped like net/http's: it receives the HTTP
// request as a CloudBase-style [Event] and returns a value, which becomes the
// HTTP response by the rule of package event: a [Response] is used as given
// (status, headers, body), a string is sent as text/plain, nil as an empty
// 200, and anything else is encoded as application/json. A Go map or struct
// is data even when it has a statusCode field, from a [HandlerFunc] and from
// [JSON] alike; return a Response to choose the status. (The Node.js runtime
// differs on purpose: a JavaScript function that returns an object with
// statusCode has returned an envelope, as in CloudBase.)
//
// [HandlerFunc] adapts an ordinary function, and [JSON] one that takes the
// request body decoded into a type and returns a value to encode. [Use]
// wraps a handler in [Middleware], the first one outermost. [Permanent] and
// [RetryAfter] mark errors that steer the retries of asynchronous
// invocations, and [InfoFrom] tells a handler which invocation it runs.
//
// A handler streams its response (server-sent events, token-by-token
// output) by returning [Stream]: each Write of its body reaches the client
// at once, under flow control, and the body's context ends when the client
// leaves.
//
// Package sdktest invokes a handler with the event the gateway would
// build for an HTTP request, in tests and without a server. The runtime that
// serves handlers over NATS is package worker (Worker.Handle).
package sdk
