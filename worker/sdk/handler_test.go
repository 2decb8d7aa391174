package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/worker/sdk"
	"github.com/fngate/fngate/worker/sdk/sdktest"
)

// TestJSONResultIsNeverAnEnvelope: the value a JSON handler returns is
// encoded as JSON even when it has a statusCode field; only the SDK's
// response type chooses the status.
func TestJSONResultIsNeverAnEnvelope(t *testing.T) {
	t.Parallel()
	type result struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	type none struct{}
	res := result{StatusCode: 201, Headers: map[string]string{"X-A": "1"}, Body: "b"}
	cases := map[string]struct {
		h          sdk.Handler
		status     int
		body, ctyp string
	}{
		"struct": {sdk.JSON(func(context.Context, *sdk.Event, none) (result, error) { return res, nil }),
			200, `{"statusCode":201,"headers":{"X-A":"1"},"body":"b"}`, "application/json"},
		"pointer": {sdk.JSON(func(context.Context, *sdk.Event, none) (*result, error) { return &res, nil }),
			200, `{"statusCode":201,"headers":{"X-A":"1"},"body":"b"}`, "application/json"},
		"map": {sdk.JSON(func(context.Context, *sdk.Event, none) (map[string]int, error) {
			return map[string]int{"statusCode": 404}, nil
		}), 200, `{"statusCode":404}`, "application/json"},
		"raw": {sdk.JSON(func(context.Context, *sdk.Event, none) (json.RawMessage, error) {
			return json.RawMessage(`{"statusCode":500}`), nil
		}), 200, `{"statusCode":500}`, "application/json"},
		"any raw": {sdk.JSON(func(context.Context, *sdk.Event, none) (any, error) {
			return json.RawMessage(`{"statusCode":500}`), nil
		}), 200, `{"statusCode":500}`, "application/json"},
		"nil raw": {sdk.JSON(func(context.Context, *sdk.Event, none) (json.RawMessage, error) { return nil, nil }),
			200, "", ""},
		"response": {sdk.JSON(func(context.Context, *sdk.Event, none) (*sdk.Response, error) {
			return &sdk.Response{StatusCode: 201, Body: "made"}, nil
		}), 201, "made", "text/plain; charset=utf-8"},
		"response value": {sdk.JSON(func(context.Context, *sdk.Event, none) (sdk.Response, error) {
			return sdk.Response{StatusCode: 202, Body: `{"ok":true}`}, nil
		}), 202, `{"ok":true}`, "application/json"},
		"string": {sdk.JSON(func(context.Context, *sdk.Event, none) (string, error) { return "hi", nil }),
			200, "hi", "text/plain; charset=utf-8"},
	}
	for name, c := range cases {
		r, err := sdktest.Invoke(t.Context(), c.h, sdktest.Request{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Status != c.status || string(r.Body) != c.body || r.Header.Get("Content-Type") != c.ctyp {
			t.Errorf("%s: %d %s %q, want %d %s %q", name, r.Status, r.Header.Get("Content-Type"), r.Body, c.status, c.ctyp, c.body)
		}
	}
}

// TestJSONSameAsHandlerFunc: a struct answers the same from JSON as from a
// HandlerFunc.
func TestJSONSameAsHandlerFunc(t *testing.T) {
	t.Parallel()
	type created struct {
		StatusCode int `json:"statusCode"`
		ID         int `json:"id"`
	}
	v := created{StatusCode: 201, ID: 7}
	a, errA := sdktest.Invoke(t.Context(), sdk.JSON(func(context.Context, *sdk.Event, struct{}) (created, error) { return v, nil }), sdktest.Request{})
	b, errB := sdktest.Invoke(t.Context(), sdk.HandlerFunc(func(context.Context, *sdk.Event) (any, error) { return v, nil }), sdktest.Request{})
	if errA != nil || errB != nil || a.Status != b.Status || string(a.Body) != string(b.Body) || a.Header.Get("Content-Type") != b.Header.Get("Content-Type") {
		t.Fatalf("JSON: %+v %v; HandlerFunc: %+v %v", a, errA, b, errB)
	}
}

func TestJSONInput(t *testing.T) {
	t.Parallel()
	type in struct{ N int }
	h := sdk.JSON(func(_ context.Context, _ *sdk.Event, v in) (in, error) { return in{v.N * 2}, nil })
	r, err := sdktest.Invoke(t.Context(), h, sdktest.Request{Method: "POST", Body: []byte(`{"N":21}`)})
	if err != nil || string(r.Body) != `{"N":42}` {
		t.Fatalf("= %+v %v", r, err)
	}
	r, err = sdktest.Invoke(t.Context(), h, sdktest.Request{Method: "POST"})
	if err != nil || string(r.Body) != `{"N":0}` {
		t.Fatalf("empty body = %+v %v", r, err)
	}
	r, err = sdktest.Invoke(t.Context(), h, sdktest.Request{Method: "POST", Body: []byte(`{not json`)})
	if err != nil || r.Status != 400 || !strings.Contains(string(r.Body), "not valid JSON") {
		t.Fatalf("bad body = %+v %v", r, err)
	}
	// A failing function's error is returned as it is.
	boom := errors.New("boom")
	_, err = sdktest.Invoke(t.Context(), sdk.JSON(func(context.Context, *sdk.Event, in) (in, error) {
		return in{}, sdk.Permanent(boom)
	}), sdktest.Request{})
	if !errors.Is(err, boom) || !sdk.IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestErrorMarkers(t *testing.T) {
	t.Parallel()
	base := errors.New("x")
	if !sdk.IsPermanent(sdk.Permanent(base)) || sdk.IsPermanent(base) || !errors.Is(sdk.Permanent(base), base) {
		t.Error("Permanent")
	}
	var ra *sdk.RetryAfterError
	if err := sdk.RetryAfter(time.Second, base); !errors.As(err, &ra) || ra.After != time.Second || !errors.Is(err, base) {
		t.Error("RetryAfter")
	}
}

func TestInfo(t *testing.T) {
	t.Parallel()
	if _, ok := sdk.InfoFrom(context.Background()); ok {
		t.Error("info in an empty context")
	}
	want := sdk.Info{RequestID: "r", FunctionName: "f", TraceParent: "tp"}
	if got, ok := sdk.InfoFrom(sdk.WithInfo(context.Background(), want)); !ok || got != want {
		t.Errorf("InfoFrom = %+v %v", got, ok)
	}
}
