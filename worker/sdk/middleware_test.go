package sdk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fngate/fngate/worker/sdk"
	"github.com/fngate/fngate/worker/sdk/sdktest"
)

// trace is a middleware that records its name before and after the handler.
func trace(name string, log *[]string) sdk.Middleware {
	return func(next sdk.Handler) sdk.Handler {
		return sdk.HandlerFunc(func(ctx context.Context, ev *sdk.Event) (any, error) {
			*log = append(*log, name+">")
			res, err := next.Invoke(ctx, ev)
			*log = append(*log, "<"+name)
			return res, err
		})
	}
}

// TestUseOrder: middleware runs in the order given, the first outermost.
func TestUseOrder(t *testing.T) {
	t.Parallel()
	var log []string
	h := sdk.HandlerFunc(func(context.Context, *sdk.Event) (any, error) {
		log = append(log, "h")
		return "ok", nil
	})
	r, err := sdktest.Invoke(t.Context(), sdk.Use(h, trace("a", &log), trace("b", &log), trace("c", &log)), sdktest.Request{})
	if err != nil || string(r.Body) != "ok" {
		t.Fatalf("= %+v %v", r, err)
	}
	if got := strings.Join(log, " "); got != "a> b> c> h <c <b <a" {
		t.Errorf("order = %s", got)
	}
}

// TestUseShortCircuit: a middleware can answer without calling the handler,
// and sees the event and the invocation info.
func TestUseShortCircuit(t *testing.T) {
	t.Parallel()
	called := false
	h := sdk.HandlerFunc(func(context.Context, *sdk.Event) (any, error) { called = true; return "ok", nil })
	auth := func(next sdk.Handler) sdk.Handler {
		return sdk.HandlerFunc(func(ctx context.Context, ev *sdk.Event) (any, error) {
			if info, _ := sdk.InfoFrom(ctx); ev.Headers["authorization"] != "Bearer t" {
				return &sdk.Response{StatusCode: 401, Body: "no token for " + info.FunctionName}, nil
			}
			return next.Invoke(ctx, ev)
		})
	}
	g := sdk.Use(h, auth)
	r, err := sdktest.Invoke(t.Context(), g, sdktest.Request{Function: "orders"})
	if err != nil || r.Status != 401 || string(r.Body) != "no token for orders" || called {
		t.Fatalf("without token = %+v %v called=%v", r, err, called)
	}
	r, err = sdktest.Invoke(t.Context(), g, sdktest.Request{Headers: map[string][]string{"Authorization": {"Bearer t"}}})
	if err != nil || r.Status != 200 || !called {
		t.Fatalf("with token = %+v %v called=%v", r, err, called)
	}
}

// TestUseNone: without middleware the handler is returned as it is.
func TestUseNone(t *testing.T) {
	t.Parallel()
	h := sdk.HandlerFunc(func(context.Context, *sdk.Event) (any, error) { return nil, nil })
	if g, ok := sdk.Use(h).(sdk.HandlerFunc); !ok || g == nil {
		t.Fatalf("Use(h) = %T", sdk.Use(h))
	}
}
