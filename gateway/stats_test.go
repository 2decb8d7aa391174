package gateway_test

import (
	"slices"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// TestStatsOfEveryGateway: GET /admin/stats/gateways on one gateway
// returns every running gateway's request counts, gathered over NATS; a
// stopped gateway drops out.
func TestStatsOfEveryGateway(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"))
	a := s.Gateway(gateway.Config{})
	b := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())
	for range 3 {
		if resp := gt.Get(t, a.URL+"/echo"); resp.Status != 200 {
			t.Fatalf("call on a: %d", resp.Status)
		}
	}
	for range 5 {
		if resp := gt.Get(t, b.URL+"/echo"); resp.Status != 200 {
			t.Fatalf("call on b: %d", resp.Status)
		}
	}
	gt.Get(t, b.URL+"/nowhere") // a 404 with no route, counted apart

	type all struct {
		Gateways []gateway.GatewayStats `json:"gateways"`
		Complete bool                   `json:"complete"`
	}
	echoCount := func(gs gateway.GatewayStats) int64 {
		for _, rs := range gs.Routes {
			if rs.Route == "*/echo" && rs.Mode == "sync" {
				return rs.Requests
			}
		}
		return 0
	}
	var got all
	testenv.Eventually(t, 10*time.Second, "both gateways' counts from gateway a", func() bool {
		got = all{}
		gt.Get(t, a.AdminURL+"/admin/stats/gateways").JSON(t, &got)
		if !got.Complete || len(got.Gateways) != 2 {
			return false
		}
		by := map[string]int64{}
		for _, gs := range got.Gateways {
			by[gs.Gateway] = echoCount(gs)
		}
		return by[a.ID()] == 3 && by[b.ID()] == 5
	})
	for _, gs := range got.Gateways {
		unmatched := slices.ContainsFunc(gs.Routes, func(rs gateway.RouteStats) bool { return rs.Route == "" && rs.Requests == 1 })
		if want := gs.Gateway == b.ID(); unmatched != want {
			t.Errorf("gateway %s: one unmatched request counted %v, want %v", gs.Gateway, unmatched, want)
		}
	}
	// Its own counts, as before.
	var own gateway.GatewayStats
	gt.Get(t, b.AdminURL+"/admin/stats").JSON(t, &own)
	if own.Gateway != b.ID() || echoCount(own) != 5 {
		t.Fatalf("b's /admin/stats = %+v", own)
	}

	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the stopped gateway gone", func() bool {
		got = all{}
		gt.Get(t, a.AdminURL+"/admin/stats/gateways").JSON(t, &got)
		return len(got.Gateways) == 1 && got.Gateways[0].Gateway == a.ID() && echoCount(got.Gateways[0]) == 3
	})
}
