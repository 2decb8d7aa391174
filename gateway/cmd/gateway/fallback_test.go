package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/testenv"
)

// TestGatewayKilledAfterFallback: a 3s call answered 202 after its 1s
// wait, then the gateway that answered is SIGKILLed (with its embedded
// NATS, the function's reply has nowhere to go). The worker records the
// outcome itself, so a restarted gateway shows the invocation succeeded
// with the function's body.
func TestGatewayKilledAfterFallback(t *testing.T) {
	bin, rd, routes := realProcesses(t, `{domain: "*", path: /slow, function: sleep, timeout: 10s}`)
	env, httpPort, _, natsPort := gatewayEnv(t, rd, routes)
	gw := start(t, bin+"/gateway", env...)
	w := start(t, bin+"/worker", "FNGATE_NATS_URL=nats://127.0.0.1:"+itoa(natsPort), "FNGATE_BUILTINS=sleep", "FNGATE_METRICS_ADDR=127.0.0.1:0", "FNGATE_REDIS_URL="+rd.URL())
	base := "http://127.0.0.1:" + itoa(httpPort)
	testenv.Eventually(t, 20*time.Second, "the gateway serves", func() bool {
		resp, err := gt.Try("GET", base+"/slow?ms=1", "", nil, nil)
		return err == nil && resp.Status == 200
	})

	resp := gt.Do(t, "GET", base+"/slow?ms=3000", "", http.Header{"Prefer": {"respond-async, wait=1"}}, nil)
	id := resp.Header.Get("X-Invocation-Id")
	if resp.Status != 202 || id == "" {
		t.Fatalf("fallback = %d %s", resp.Status, resp.Body)
	}
	if err := gw.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = gw.wait(10 * time.Second)

	gw2 := start(t, bin+"/gateway", env...)
	defer func() {
		if t.Failed() {
			t.Logf("worker:\n%s\ngateway:\n%s", tail(w.logs(), 40), tail(gw2.logs(), 20))
		}
	}()
	var inv record.PublicInvocation
	testenv.Eventually(t, 30*time.Second, "invocation "+id+" succeeded", func() bool {
		resp, err := gt.Try("GET", base+"/invocations/"+id, "", nil, nil)
		if err != nil || resp.Status != 200 {
			return false
		}
		_ = json.Unmarshal(resp.Body, &inv)
		return inv.Status == record.StatusSucceeded
	})
	if inv.Attempts != 1 || inv.Result == nil || !strings.Contains(inv.Result.Body, `"slept":3000`) {
		t.Fatalf("invocation %s = %+v result %+v", id, inv, inv.Result)
	}
}
