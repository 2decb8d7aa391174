package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/testenv"
)

// TestGatewayKilledUnderAsyncLoad kills the gateway (and its embedded
// NATS) with SIGKILL while clients queue invocations, then starts it again
// on the same store: every invocation answered 202 runs, exactly once
// (one attempt), and succeeds. The 202 is sent only after JetStream
// acknowledged the message; nothing about it is in Redis until a worker
// takes it.
func TestGatewayKilledUnderAsyncLoad(t *testing.T) {
	bin, rd, routes := realProcesses(t, `{domain: "*", path: /job, function: echo, mode: async}`)
	env, httpPort, _, natsPort := gatewayEnv(t, rd, routes)
	gw := start(t, bin+"/gateway", env...)
	w := start(t, bin+"/worker", "FNGATE_NATS_URL=nats://127.0.0.1:"+itoa(natsPort), "FNGATE_BUILTINS=echo", "FNGATE_METRICS_ADDR=127.0.0.1:0", "FNGATE_REDIS_URL="+rd.URL())
	base := "http://127.0.0.1:" + itoa(httpPort)
	testenv.Eventually(t, 20*time.Second, "the gateway queues", func() bool {
		resp, err := gt.Try("POST", base+"/job", "", nil, []byte("warm-up"))
		return err == nil && resp.Status == 202
	})

	// Load: 8 clients queue until the gateway dies under them.
	var mu sync.Mutex
	var ids []string
	var stop atomic.Bool
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			for i := 0; i < 5000 && !stop.Load(); i++ {
				resp, err := gt.Try("POST", base+"/job", "", nil, fmt.Appendf(nil, "%d-%d", c, i))
				if err != nil || resp.Status != 202 {
					continue // the gateway is dying or dead: this one was not accepted
				}
				mu.Lock()
				ids = append(ids, resp.Header.Get("X-Invocation-Id"))
				mu.Unlock()
			}
		})
	}
	accepted := func() int { mu.Lock(); defer mu.Unlock(); return len(ids) }
	testenv.Eventually(t, 30*time.Second, "300 accepted", func() bool { return accepted() >= 300 })
	if err := gw.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = gw.wait(10 * time.Second)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d invocations accepted before the kill", len(ids))

	gw2 := start(t, bin+"/gateway", env...)
	defer func() {
		if t.Failed() {
			t.Logf("worker:\n%s\ngateway:\n%s", tail(w.logs(), 40), tail(gw2.logs(), 20))
		}
	}()
	for _, id := range ids {
		var inv record.PublicInvocation
		testenv.Eventually(t, time.Minute, "invocation "+id+" succeeded", func() bool {
			resp, err := gt.Try("GET", base+"/invocations/"+id, "", nil, nil)
			if err != nil || resp.Status != 200 {
				if err == nil && resp.Status == 404 {
					t.Fatalf("accepted invocation %s lost: %s", id, resp.Body)
				}
				return false
			}
			_ = json.Unmarshal(resp.Body, &inv)
			return inv.Status == record.StatusSucceeded
		})
		if inv.Attempts != 1 || !strings.Contains(inv.Result.Body, `"body"`) {
			t.Fatalf("invocation %s = %+v, want one attempt", id, inv)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
