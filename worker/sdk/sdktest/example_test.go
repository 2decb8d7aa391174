package sdktest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/fngate/fngate/worker/sdk"
	"github.com/fngate/fngate/worker/sdk/sdktest"
)

// The handler sees the event the gateway would send: lower-case header
// names, the last value of a repeated query key, the function's name in the
// request context.
func ExampleInvoke() {
	h := sdk.HandlerFunc(func(ctx context.Context, ev *sdk.Event) (any, error) {
		return map[string]any{
			"method":   ev.HTTPMethod,
			"path":     ev.Path,
			"tag":      ev.QueryStringParameters["tag"],
			"tags":     ev.MultiValueQueryStringParameters["tag"],
			"type":     ev.Headers["content-type"],
			"body":     ev.Body,
			"function": ev.RequestContext.FunctionName,
		}, nil
	})
	res, err := sdktest.Invoke(context.Background(), h, sdktest.Request{
		Method:   "POST",
		Path:     "/orders",
		Query:    url.Values{"tag": {"a", "b"}},
		Headers:  http.Header{"Content-Type": {"text/plain"}},
		Body:     []byte("tea"),
		Function: "orders",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Status, res.Header.Get("Content-Type"))
	fmt.Println(string(res.Body))
	// Output:
	// 200 application/json
	// {"body":"tea","function":"orders","method":"POST","path":"/orders","tag":"b","tags":["a","b"],"type":"text/plain"}
}
