// Package worker is fngate's function runtime: it serves handlers written
// with the function author's API (package fngate, at the module root) over
// NATS.
//
// A [Worker] serves many functions, each on its own NATS queue group with its
// own concurrency limit, so any number of worker processes share the load
// with no coordination. The deadline of the HTTP call arrives in a NATS
// header and becomes the handler's context deadline; the request id,
// function name and trace context reach the handler through
// sdk.InfoFrom. A handler's result becomes the reply by the rule of
// package event (event.FromGo). A runtime for another language plugs in as
// a [RawHandler], which gets the event JSON unparsed and whose results follow
// the CloudBase rule (event.FromValue), as the Node.js and Python runtime
// (package worker/runtime) does.
//
// [Worker.Drain] unsubscribes, finishes and answers every invocation already
// received, then returns: a worker restart loses no request.
package worker
