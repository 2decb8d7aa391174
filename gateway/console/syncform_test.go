package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// TestRouteFormSyncOptions: the route form sets a route's fallbackAfter,
// payloadFormat and streamIdleTimeout (#17), shows the API's refusal of a bad value beside
// its field, and shows the values when the route is edited.
func TestRouteFormSyncOptions(t *testing.T) {
	s := newStack(t)
	origin := map[string]string{"Origin": s.console}
	c := newClient(t, s.console)
	csrf := c.signIn()
	form := url.Values{"_csrf": {csrf}, "resourceType": {"function"}, "function": {"hello"}, "domainKind": {"default"}, "path": {"/aws"},
		"fallbackAfter": {"1ms"}, "payloadFormat": {"apigw-v2"}}
	status, _, page := c.do("POST", "/console/routes", form, origin)
	if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest || !strings.Contains(page, `id="fallbackAfter-error"`) {
		t.Fatalf("bad fallbackAfter: %d, error beside the field: %v", status, strings.Contains(page, `id="fallbackAfter-error"`))
	}
	form.Set("fallbackAfter", "2s")
	form.Set("streamIdleTimeout", "1ms")
	if status, _, page := c.do("POST", "/console/routes", form, origin); !strings.Contains(page, `id="streamIdleTimeout-error"`) {
		t.Fatalf("bad streamIdleTimeout: %d, error beside the field: false", status)
	}
	form.Set("streamIdleTimeout", "45s")
	if status, _, _ := c.do("POST", "/console/routes", form, origin); status != http.StatusSeeOther {
		t.Fatalf("create: %d", status)
	}
	rs, _, err := s.Routes.Snapshot(context.Background())
	if err != nil || len(rs) != 1 || time.Duration(rs[0].FallbackAfter) != 2*time.Second || time.Duration(rs[0].StreamIdleTimeout) != 45*time.Second || rs[0].PayloadFormat != route.FormatAPIGatewayV2 {
		t.Fatalf("routes = %+v, %v", rs, err)
	}
	_, _, page = c.do("GET", "/console/routes/"+rs[0].ID+"/edit", nil, nil)
	if !strings.Contains(page, `name="fallbackAfter" value="2s"`) || !strings.Contains(page, `value="apigw-v2" selected`) ||
		!strings.Contains(page, `name="streamIdleTimeout" value="45s"`) {
		t.Fatalf("edit form does not show the options")
	}
}

// TestConsoleShowsFallback: a sync call answered 202 at the end of its
// route's fallbackAfter is listed and shown by the console like any
// other invocation, running and then succeeded.
func TestConsoleShowsFallback(t *testing.T) {
	s := newStack(t)
	s.Worker(worker.Config{}, map[string]sdk.Handler{"slowc": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
		time.Sleep(time.Second) // the work
		return map[string]string{"done": "yes"}, nil
	})})
	rt := route.Route{Domain: "*", Path: "/slowc", Function: "slowc", Timeout: route.Duration(10 * time.Second), FallbackAfter: route.Duration(300 * time.Millisecond)}
	if err := s.Routes.Create(context.Background(), &rt); err != nil {
		t.Fatal(err)
	}
	var id string
	testenv.Eventually(t, 10*time.Second, "the route serves", func() bool {
		r := gatewaytest.Get(t, s.gw.URL+"/slowc")
		id = r.Header.Get("X-Invocation-Id")
		return r.Status == http.StatusAccepted
	})
	c := newClient(t, s.console)
	c.signIn()
	testenv.Eventually(t, 10*time.Second, "the console shows it succeeded", func() bool {
		status, _, page := c.do("GET", "/console/invocations/"+id, nil, nil)
		return status == http.StatusOK && strings.Contains(page, "succeeded") && strings.Contains(page, "done")
	})
	if _, _, page := c.do("GET", "/console/invocations?function=slowc", nil, nil); !strings.Contains(page, id) {
		t.Fatalf("the list does not show %s", id)
	}
}
