// Package worker is fngate's function runtime and the SDK for Go function
// authors.
//
// A function is a [Handler], shaped like net/http's: it receives the HTTP
// event and returns a value, which becomes the HTTP response by the rule of
// package event (an [event.Response] envelope as given, any other value as
// JSON, a string as text). [HandlerFunc] adapts a function and [JSON] adapts
// one that takes and returns typed JSON.
//
// A [Worker] serves many functions, each on its own NATS queue group with its
// own concurrency limit, so any number of worker processes share the load
// with no coordination. The deadline of the HTTP call arrives in a NATS
// header and becomes the handler's context deadline. [Worker.Drain]
// unsubscribes, finishes and answers every invocation already received, then
// returns: a worker restart loses no request.
package worker
