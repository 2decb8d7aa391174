// Package sdktest invokes a function's handler in a test, with the event
// the gateway would build for an HTTP request, and returns the HTTP response
// the caller would get:
//
//	res, err := sdktest.Invoke(t.Context(), h, sdktest.Request{
//		Method: "POST", Path: "/orders", Body: []byte(`{"item":"tea"}`),
//	})
//
// No NATS, gateway or Redis is involved, but the event travels the same
// encoding as in production: [event.AppendRequest] builds its JSON from the
// request as the gateway does, [event.Decode] reads it as the worker does (a
// handler that takes the raw event JSON, such as the Node.js runtime's, gets
// it unparsed), and [event.FromGo] turns the result into the response as
// the worker does. Like net/http/httptest it needs no testing.T, so it works
// in examples, benchmarks and fuzz targets too.
package sdktest
