package gateway_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// TestFunctionMaxConcurrency: with maxConcurrency 2 set over the admin API
// while three workers of concurrency 10 each run, no more than two of the
// function's 20 async invocations ever overlap.
func TestFunctionMaxConcurrency(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/capped", Function: "capped", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	var running, peak atomic.Int64
	h := sdk.HandlerFunc(func(ctx context.Context, ev *event.Event) (any, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(50 * time.Millisecond) // the work: long enough to overlap
		return "ok", nil
	})
	for range 3 {
		s.Worker(worker.Config{Concurrency: 10, HeartbeatInterval: 200 * time.Millisecond}, map[string]sdk.Handler{"capped": h})
	}

	resp := gt.Do(t, "PUT", gw.AdminURL+"/admin/functions/capped", "", jsonType, []byte(`{"maxConcurrency":2}`))
	if resp.Status != 200 || string(resp.Body) != `{"name":"capped","maxConcurrency":2}` {
		t.Fatalf("PUT /admin/functions/capped = %d %s", resp.Status, resp.Body)
	}
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	name, _ := subject.Consumer("capped")
	testenv.Eventually(t, 10*time.Second, "the workers apply the cap to the consumer", func() bool {
		c, err := js.Consumer(context.Background(), subject.StreamInvocations, name)
		return err == nil && c.CachedInfo().Config.MaxAckPending == 2
	})

	ids := make([]string, 20)
	for i := range ids {
		ids[i] = acceptOK(t, gw.URL+"/capped", nil, "")
	}
	for _, id := range ids {
		waitStatus(t, gw, id, record.StatusSucceeded, 30*time.Second)
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak overlap %d, want 2", p)
	}

	var list struct {
		Functions []struct {
			Function       string
			MaxConcurrency int
		}
	}
	testenv.Eventually(t, 10*time.Second, "the functions list shows the cap", func() bool {
		gt.Get(t, gw.AdminURL+"/admin/functions").JSON(t, &list)
		return len(list.Functions) == 1 && list.Functions[0].MaxConcurrency == 2
	})
	assertError(t, gt.Do(t, "PUT", gw.AdminURL+"/admin/functions/capped", "", jsonType, []byte(`{"maxConcurrency":-1}`)), 400, "INVALID_REQUEST")
	assertError(t, gt.Do(t, "PUT", gw.AdminURL+"/admin/functions/Bad.Name", "", jsonType, []byte(`{"maxConcurrency":1}`)), 400, "INVALID_REQUEST")
	assertError(t, gt.Do(t, "PUT", gw.AdminURL+"/admin/functions/capped", "", jsonType, []byte(`{}`)), 400, "INVALID_REQUEST")
}
