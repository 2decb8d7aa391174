package fngate_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate"
	"github.com/fngate/fngate/fngatetest"
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
		h          fngate.Handler
		status     int
		body, ctyp string
	}{
		"struct": {fngate.JSON(func(context.Context, *fngate.Event, none) (result, error) { return res, nil }),
			200, `{"statusCode":201,"headers":{"X-A":"1"},"body":"b"}`, "application/json"},
		"pointer": {fngate.JSON(func(context.Context, *fngate.Event, none) (*result, error) { return &res, nil }),
			200, `{"statusCode":201,"headers":{"X-A":"1"},"body":"b"}`, "application/json"},
		"map": {fngate.JSON(func(context.Context, *fngate.Event, none) (map[string]int, error) {
			return map[string]int{"statusCode": 404}, nil
		}), 200, `{"statusCode":404}`, "application/json"},
		"raw": {fngate.JSON(func(context.Context, *fngate.Event, none) (json.RawMessage, error) {
			return json.RawMessage(`{"statusCode":500}`), nil
		}), 200, `{"statusCode":500}`, "application/json"},
		"any raw": {fngate.JSON(func(context.Context, *fngate.Event, none) (any, error) {
			return json.RawMessage(`{"statusCode":500}`), nil
		}), 200, `{"statusCode":500}`, "application/json"},
		"nil raw": {fngate.JSON(func(context.Context, *fngate.Event, none) (json.RawMessage, error) { return nil, nil }),
			200, "", ""},
		"response": {fngate.JSON(func(context.Context, *fngate.Event, none) (*fngate.Response, error) {
			return &fngate.Response{StatusCode: 201, Body: "made"}, nil
		}), 201, "made", "text/plain; charset=utf-8"},
		"response value": {fngate.JSON(func(context.Context, *fngate.Event, none) (fngate.Response, error) {
			return fngate.Response{StatusCode: 202, Body: `{"ok":true}`}, nil
		}), 202, `{"ok":true}`, "application/json"},
		"string": {fngate.JSON(func(context.Context, *fngate.Event, none) (string, error) { return "hi", nil }),
			200, "hi", "text/plain; charset=utf-8"},
	}
	for name, c := range cases {
		r, err := fngatetest.Invoke(t.Context(), c.h, fngatetest.Request{})
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
	a, errA := fngatetest.Invoke(t.Context(), fngate.JSON(func(context.Context, *fngate.Event, struct{}) (created, error) { return v, nil }), fngatetest.Request{})
	b, errB := fngatetest.Invoke(t.Context(), fngate.HandlerFunc(func(context.Context, *fngate.Event) (any, error) { return v, nil }), fngatetest.Request{})
	if errA != nil || errB != nil || a.Status != b.Status || string(a.Body) != string(b.Body) || a.Header.Get("Content-Type") != b.Header.Get("Content-Type") {
		t.Fatalf("JSON: %+v %v; HandlerFunc: %+v %v", a, errA, b, errB)
	}
}

func TestJSONInput(t *testing.T) {
	t.Parallel()
	type in struct{ N int }
	h := fngate.JSON(func(_ context.Context, _ *fngate.Event, v in) (in, error) { return in{v.N * 2}, nil })
	r, err := fngatetest.Invoke(t.Context(), h, fngatetest.Request{Method: "POST", Body: []byte(`{"N":21}`)})
	if err != nil || string(r.Body) != `{"N":42}` {
		t.Fatalf("= %+v %v", r, err)
	}
	r, err = fngatetest.Invoke(t.Context(), h, fngatetest.Request{Method: "POST"})
	if err != nil || string(r.Body) != `{"N":0}` {
		t.Fatalf("empty body = %+v %v", r, err)
	}
	r, err = fngatetest.Invoke(t.Context(), h, fngatetest.Request{Method: "POST", Body: []byte(`{not json`)})
	if err != nil || r.Status != 400 || !strings.Contains(string(r.Body), "not valid JSON") {
		t.Fatalf("bad body = %+v %v", r, err)
	}
	// A failing function's error is returned as it is.
	boom := errors.New("boom")
	_, err = fngatetest.Invoke(t.Context(), fngate.JSON(func(context.Context, *fngate.Event, in) (in, error) {
		return in{}, fngate.Permanent(boom)
	}), fngatetest.Request{})
	if !errors.Is(err, boom) || !fngate.IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestErrorMarkers(t *testing.T) {
	t.Parallel()
	base := errors.New("x")
	if !fngate.IsPermanent(fngate.Permanent(base)) || fngate.IsPermanent(base) || !errors.Is(fngate.Permanent(base), base) {
		t.Error("Permanent")
	}
	var ra *fngate.RetryAfterError
	if err := fngate.RetryAfter(time.Second, base); !errors.As(err, &ra) || ra.After != time.Second || !errors.Is(err, base) {
		t.Error("RetryAfter")
	}
}

func TestInfo(t *testing.T) {
	t.Parallel()
	if _, ok := fngate.InfoFrom(context.Background()); ok {
		t.Error("info in an empty context")
	}
	want := fngate.Info{RequestID: "r", FunctionName: "f", TraceParent: "tp"}
	if got, ok := fngate.InfoFrom(fngate.WithInfo(context.Background(), want)); !ok || got != want {
		t.Errorf("InfoFrom = %+v %v", got, ok)
	}
}
