package worker_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// created is a result that happens to have a statusCode field, like a
// record of an upstream call.
type created struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
	ID         int    `json:"id"`
}

// TestJSONResultWithStatusCodeOverHTTP: a JSON handler's result is data,
// sent as 200 application/json whatever its fields are called, as the same
// value returned by a HandlerFunc is. Only a raw JSON value (what the
// Node.js runtime returns) follows the CloudBase envelope rule.
func TestJSONResultWithStatusCodeOverHTTP(t *testing.T) {
	t.Parallel()
	res := created{StatusCode: 201, Body: "made", ID: 7}
	want := `{"statusCode":201,"body":"made","id":7}`
	s := gt.New(t,
		route.Route{Domain: "*", Path: "/json", Function: "json"},
		route.Route{Domain: "*", Path: "/func", Function: "func"},
		route.Route{Domain: "*", Path: "/raw", Function: "raw"},
	)
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"json": sdk.JSON(func(context.Context, *event.Event, struct{}) (created, error) { return res, nil }),
		"func": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) { return res, nil }),
		"raw": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			b, err := json.Marshal(res)
			return json.RawMessage(b), err
		}),
	})
	gw := s.Gateway(gateway.Config{})
	for _, path := range []string{"/json", "/func"} {
		r := gt.Get(t, gw.URL+path)
		if r.Status != 200 || string(r.Body) != want || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s = %d %s %s, want 200 application/json %s", path, r.Status, r.Header.Get("Content-Type"), r.Body, want)
		}
	}
	if r := gt.Get(t, gw.URL+"/raw"); r.Status != 201 || string(r.Body) != "made" {
		t.Errorf("GET /raw = %d %s, want the envelope's 201 made", r.Status, r.Body)
	}
}
