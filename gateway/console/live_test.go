package console

import (
	"testing"
	"time"

	"github.com/fngate/fngate/gateway/adminapi"
)

// TestRatesAcrossGateways: rates are each gateway's own deltas, summed;
// totals are summed over every gateway that answered; a gateway late for
// one sample is compared with the last sample it was in.
func TestRatesAcrossGateways(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration, gws ...adminapi.GatewayStats) sample {
		s := sample{at: t0.Add(d), gateways: map[string]adminapi.GatewayStats{}}
		for _, g := range gws {
			s.gateways[g.Gateway] = g
		}
		return s
	}
	gw := func(id string, req, errs int64) adminapi.GatewayStats {
		return adminapi.GatewayStats{Gateway: id, Routes: []adminapi.RouteStats{{Route: "*/api", Mode: "sync", Requests: req, Errors: errs}}}
	}
	last := map[string]timed{}
	if rows := rates(last, at(0, gw("a", 100, 0), gw("b", 50, 0))); len(rows) != 1 || rows[0].RPS != 0 || rows[0].Requests != 150 {
		t.Fatalf("first sample: %+v, want totals 150 and no rate yet", rows)
	}
	// 1s later: a +10 (2 errors), b +30; c is new (counted, no rate).
	rows := rates(last, at(time.Second, gw("a", 110, 2), gw("b", 80, 0), gw("c", 7, 0)))
	if len(rows) != 1 || rows[0].RPS != 40 || rows[0].ErrorRate != 0.05 || rows[0].Requests != 197 || rows[0].Errors != 2 {
		t.Fatalf("second sample: %+v, want 40/s, 5%% errors, 197 requests, 2 errors", rows)
	}
	// 2s: b is late to answer; a +20, c +5.
	rows = rates(last, at(2*time.Second, gw("a", 130, 2), gw("c", 12, 0)))
	if rows[0].RPS != 25 || rows[0].ErrorRate != 0 {
		t.Fatalf("third sample: %+v, want 25/s from a and c", rows)
	}
	// 3s: b is back with +60 over the two seconds since it last answered.
	rows = rates(last, at(3*time.Second, gw("a", 130, 2), gw("b", 140, 0), gw("c", 12, 0)))
	if rows[0].RPS != 30 {
		t.Fatalf("fourth sample: %+v, want b's 60 requests over 2s = 30/s", rows)
	}
	// Without a previous sample (the page's first render): totals only.
	if rows := rates(nil, at(0, gw("a", 5, 1))); rows[0].RPS != 0 || rows[0].Requests != 5 || rows[0].Errors != 1 {
		t.Fatalf("no history: %+v", rows)
	}
}
