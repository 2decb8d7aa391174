package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/fngate/fngate/worker/sdk"
	"github.com/fngate/fngate/worker/sdk/sdktest"
)

// A function that returns a Response to choose its status, and any other
// value to answer 200 with it as JSON.
func ExampleHandlerFunc() {
	greet := sdk.HandlerFunc(func(ctx context.Context, ev *sdk.Event) (any, error) {
		name := ev.QueryStringParameters["name"]
		if name == "" {
			return &sdk.Response{StatusCode: 400, Body: `{"error":"name is required"}`}, nil
		}
		return map[string]string{"message": "Hello, " + name + "!"}, nil
	})
	res, _ := sdktest.Invoke(context.Background(), greet, sdktest.Request{Query: url.Values{"name": {"CloudBase"}}})
	fmt.Println(res.Status, string(res.Body))
	res, _ = sdktest.Invoke(context.Background(), greet, sdktest.Request{})
	fmt.Println(res.Status, string(res.Body))
	// Output:
	// 200 {"message":"Hello, CloudBase!"}
	// 400 {"error":"name is required"}
}

// A typed JSON function: the body is decoded into the input type, and the
// result is sent as JSON, whatever its fields are called.
func ExampleJSON() {
	type order struct {
		Item string `json:"item"`
		Qty  int    `json:"qty"`
	}
	type receipt struct {
		StatusCode int    `json:"statusCode"` // data, not the HTTP status
		Item       string `json:"item"`
		Total      int    `json:"total"`
	}
	h := sdk.JSON(func(ctx context.Context, ev *sdk.Event, o order) (receipt, error) {
		return receipt{StatusCode: 201, Item: o.Item, Total: o.Qty * 3}, nil
	})
	res, _ := sdktest.Invoke(context.Background(), h, sdktest.Request{Method: "POST", Body: []byte(`{"item":"tea","qty":2}`)})
	fmt.Println(res.Status, res.Header.Get("Content-Type"), string(res.Body))
	// Output: 200 application/json {"statusCode":201,"item":"tea","total":6}
}

// Middleware wraps every call of a handler; the first one given runs first.
func ExampleUse() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output for the example
			}
			return a
		},
	}))
	logging := func(next sdk.Handler) sdk.Handler {
		return sdk.HandlerFunc(func(ctx context.Context, ev *sdk.Event) (any, error) {
			info, _ := sdk.InfoFrom(ctx)
			res, err := next.Invoke(ctx, ev)
			logger.Info("invoked", "function", info.FunctionName, "request_id", info.RequestID, "failed", err != nil)
			return res, err
		})
	}
	hello := sdk.HandlerFunc(func(context.Context, *sdk.Event) (any, error) { return "hello", nil })
	res, _ := sdktest.Invoke(context.Background(), sdk.Use(hello, logging), sdktest.Request{Function: "hello", RequestID: "req-1"})
	fmt.Println(string(res.Body))
	// Output:
	// level=INFO msg=invoked function=hello request_id=req-1 failed=false
	// hello
}

// Errors steer the retries of asynchronous invocations.
func ExampleRetryAfter() {
	errBusy := errors.New("upstream busy")
	charge := sdk.HandlerFunc(func(_ context.Context, ev *sdk.Event) (any, error) {
		if ev.Headers["x-card"] == "" {
			return nil, sdk.Permanent(errors.New("no card")) // retrying cannot help
		}
		return nil, sdk.RetryAfter(30*time.Second, errBusy)
	})
	_, err := sdktest.Invoke(context.Background(), charge, sdktest.Request{})
	fmt.Println(err, sdk.IsPermanent(err))
	_, err = sdktest.Invoke(context.Background(), charge, sdktest.Request{Headers: map[string][]string{"X-Card": {"4242"}}})
	var ra *sdk.RetryAfterError
	fmt.Println(errors.As(err, &ra), ra.After, errors.Is(err, errBusy))
	// Output:
	// no card true
	// true 30s true
}

// A function that streams its response: each Write reaches the client at
// once (sdktest gathers the body, as an async invocation records it).
func ExampleStream() {
	tokens := sdk.HandlerFunc(func(ctx context.Context, ev *sdk.Event) (any, error) {
		return sdk.Stream(200, http.Header{"Content-Type": {"text/event-stream"}}, func(ctx context.Context, w io.Writer) error {
			for _, tok := range []string{"fngate", "streams", "this"} {
				if _, err := fmt.Fprintf(w, "data: %s\n", tok); err != nil {
					return err // the client left
				}
			}
			return nil
		}), nil
	})
	res, _ := sdktest.Invoke(context.Background(), tokens, sdktest.Request{})
	fmt.Print(res.Status, " ", res.Header.Get("Content-Type"), "\n", string(res.Body))
	// Output:
	// 200 text/event-stream
	// data: fngate
	// data: streams
	// data: this
}
