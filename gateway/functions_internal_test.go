package gateway

import (
	"testing"
	"time"

	"github.com/fngate/fngate/shared/presence"
)

// TestFunctionsAggregateRecent: counts add up over live workers, the mean
// duration is weighted by each worker's count, and an expired worker's
// numbers are gone.
func TestFunctionsAggregateRecent(t *testing.T) {
	t.Parallel()
	var g Gateway
	g.workers.workers = map[string]seenWorker{}
	now := time.Now()
	g.workers.add(presence.Heartbeat{WorkerID: "a", TTL: time.Minute, Functions: []presence.Function{
		{Name: "f", RecentOK: 3, RecentErrors: 1, RecentAvgMillis: 10},
	}}, now)
	g.workers.add(presence.Heartbeat{WorkerID: "b", TTL: time.Minute, Functions: []presence.Function{
		{Name: "f", RecentOK: 1, RecentAvgMillis: 50},
		{Name: "g"},
	}}, now)
	g.workers.add(presence.Heartbeat{WorkerID: "gone", TTL: time.Millisecond, Functions: []presence.Function{
		{Name: "f", RecentOK: 100, RecentErrors: 100, RecentAvgMillis: 1000},
	}}, now.Add(-time.Second))
	got := g.Functions()
	want := []FunctionLoad{
		{Function: "f", Workers: 2, RecentOK: 4, RecentErrors: 1, RecentAvgMillis: 18}, // (4×10 + 1×50) / 5
		{Function: "g", Workers: 1},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Functions() = %+v\nwant %+v", got, want)
	}
}
