// Package event defines what travels between the gateway and a worker: the
// CloudBase-style HTTP event a function receives, the envelope a function may
// return, and the reply a worker sends back over NATS.
//
// A function's return value becomes an HTTP response by one rule, applied by
// [FromValue] for JSON values and by [FromGo] for Go values:
//
//   - an envelope {statusCode, headers, body, isBase64Encoded} is used as given,
//     the body base64-decoded when flagged;
//   - any other object or array is sent as 200 application/json;
//   - a string or number is sent as 200 text/plain;
//   - null (a function that returns nothing) is an empty 200.
//
// On the wire a reply is a NATS message whose payload is the raw response
// body and whose headers carry the status and the response headers (see
// [Reply.Msg]), so the gateway never parses or re-encodes a body. A 200
// JSON reply with no other header travels with no NATS headers at all.
//
// Every NATS header of every message is built and parsed here and nowhere
// else (header.go): [Call] for a synchronous request (request id, deadline,
// trace), [Job] for a queued invocation (its id and the route's retry
// policy, callback and redaction), [DeadLetterHeader], and the reply's.
package event
