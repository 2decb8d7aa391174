package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// changeStack is two gateways whose version check is too slow to matter
// in a test: what they serve comes from the published changes alone.
func changeStack(t *testing.T) (*gt.Stack, *gt.Gateway, *gt.Gateway) {
	t.Helper()
	s := gt.New(t, r("*", "/keep", "echo"))
	cfg := gateway.Config{RoutesResync: time.Hour}
	gw1, gw2 := s.Gateway(cfg), s.Gateway(cfg)
	s.Worker(worker.Config{}, builtin.Functions())
	return s, gw1, gw2
}

// served waits until both gateways answer method path on host with want.
func served(t *testing.T, what string, gws []*gt.Gateway, method, host, path string, want int) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, what, func() bool {
		for _, gw := range gws {
			if gt.Do(t, method, gw.URL+path, host, nil, nil).Status != want {
				return false
			}
		}
		return true
	})
}

func admin(t *testing.T, gw *gt.Gateway, method, path, body string, want int) *gt.Response {
	t.Helper()
	resp := gt.Do(t, method, gw.AdminURL+path, "", http.Header{"Content-Type": {"application/json"}}, []byte(body))
	if resp.Status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.Status, resp.Body, want)
	}
	return resp
}

// TestRouteChangesApplied: a create, an update, a domain move and a
// delete made through one gateway are served by both, each applied in
// place from the published change: neither gateway reads the table again.
func TestRouteChangesApplied(t *testing.T) {
	t.Parallel()
	_, gw1, gw2 := changeStack(t)
	gws := []*gt.Gateway{gw1, gw2}
	served(t, "the first table served", gws, "GET", "", "/keep", 200)
	const snaps, changes = `fngate_gateway_routes_updates_total{kind="snapshot"}`, `fngate_gateway_routes_updates_total{kind="change"}`
	before := []float64{metric(t, gw1, snaps), metric(t, gw2, snaps)}

	var created route.Route
	admin(t, gw1, "POST", "/admin/routes", `{"domain":"*","path":"/inc","function":"echo"}`, 201).JSON(t, &created)
	served(t, "created", gws, "GET", "", "/inc", 200)
	admin(t, gw1, "PUT", "/admin/routes/"+created.ID, `{"domain":"*","path":"/inc","function":"echo","methods":["POST"]}`, 200)
	served(t, "updated (POST only)", gws, "GET", "", "/inc", 405)
	var moved route.Route
	admin(t, gw1, "PUT", "/admin/routes/"+created.ID, `{"domain":"moved.example","path":"/inc","function":"echo"}`, 200).JSON(t, &moved)
	served(t, "moved to another domain", gws, "GET", "moved.example", "/inc", 200)
	served(t, "gone from the old domain", gws, "GET", "", "/inc", 404)
	admin(t, gw2, "DELETE", "/admin/routes/"+moved.ID, "", 204)
	served(t, "deleted", gws, "GET", "moved.example", "/inc", 404)
	served(t, "the other route untouched", gws, "GET", "", "/keep", 200)

	for i, gw := range gws {
		if got := metric(t, gw, snaps); got != before[i] {
			t.Errorf("gateway %d loaded %v snapshots for four changes, want none", i+1, got-before[i])
		}
		if got := metric(t, gw, changes); got != 4 {
			t.Errorf("gateway %d applied %v changes, want 4", i+1, got)
		}
	}
}

// TestRouteGapRecovered: a gateway that sees a version it cannot have
// reached one by one (a change it missed) loads a snapshot and serves
// what the store holds; so does one whose subscription was cut while a
// change was made.
func TestRouteGapRecovered(t *testing.T) {
	t.Parallel()
	s, gw1, gw2 := changeStack(t)
	gws := []*gt.Gateway{gw1, gw2}
	served(t, "the first table served", gws, "GET", "", "/keep", 200)
	ctx := context.Background()
	rdb := s.Redis.Client()

	// A change whose predecessor was never published: the store holds
	// /missed at version v+1, the gateways hear only of v+2.
	missed := r("*", "/missed", "echo")
	if err := missed.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, "{fngate}:routes", missed.ID, string(missed.JSON())).Err(); err != nil {
		t.Fatal(err)
	}
	v, err := rdb.IncrBy(ctx, "{fngate}:routes:version", 2).Result()
	if err != nil {
		t.Fatal(err)
	}
	seen := r("*", "/seen", "echo")
	if err := seen.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, "{fngate}:routes", seen.ID, string(seen.JSON())).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(ctx, "fngate:routes:changed", fmt.Sprintf(`{"v":%d,"set":[%s]}`, v, seen.JSON())).Err(); err != nil {
		t.Fatal(err)
	}
	served(t, "the missed change served after the gap", gws, "GET", "", "/missed", 200)
	served(t, "the change after the gap served", gws, "GET", "", "/seen", 200)

	// Subscriptions cut, and a change made meanwhile: on resubscribing,
	// the gateways compare versions and catch up.
	if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Routes.Create(ctx, &route.Route{Domain: "*", Path: "/during", Function: "echo"}); err != nil {
		t.Fatal(err)
	}
	served(t, "the change made while unsubscribed served", gws, "GET", "", "/during", 200)
	created := route.Route{Domain: "*", Path: "/after", Function: "echo"}
	if err := s.Routes.Create(ctx, &created); err != nil {
		t.Fatal(err)
	}
	served(t, "later changes served", gws, "GET", "", "/after", 200)
}
