package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
	"github.com/fngate/fngate/worker/sdk"
)

func TestOperateEndpoints(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"), route.Route{Domain: "*", Path: "/jobs", Function: "fail", Mode: "async", Retry: &route.Retry{MaxAttempts: 1}})
	gw := s.Gateway(gateway.Config{AdminToken: "operate-test-token"})
	w := s.Worker(worker.Config{}, builtin.Functions())

	// No token needed for probes and scrapes; /admin still needs it.
	if resp := gt.Get(t, gw.AdminURL+"/healthz"); resp.Status != 200 {
		t.Fatalf("/healthz = %d", resp.Status)
	}
	if resp := gt.Get(t, gw.AdminURL+"/readyz"); resp.Status != 200 || !strings.Contains(string(resp.Body), `"ready":true`) {
		t.Fatalf("/readyz = %d %s", resp.Status, resp.Body)
	}
	assertError(t, gt.Get(t, gw.AdminURL+"/admin/routes"), 401, "UNAUTHORIZED")

	gt.Get(t, gw.URL+"/echo")
	gt.Get(t, gw.URL+"/nowhere")
	acceptOK(t, gw.URL+"/jobs", nil, "")
	metrics := string(gt.Get(t, gw.AdminURL+"/metrics").Body)
	for _, want := range []string{
		`fngate_gateway_requests_total{mode="sync",route="*/echo",status="200"} 1`,
		`fngate_gateway_requests_total{mode="sync",route="",status="404"} 1`,
		`fngate_gateway_requests_total{mode="async",route="*/jobs",status="202"} 1`,
		`fngate_gateway_request_duration_seconds_count{mode="sync",route="*/echo"} 1`,
		`fngate_gateway_inflight_calls 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("gateway /metrics lacks %s", want)
		}
	}

	// The worker's endpoints, as cmd/worker serves them on FNGATE_METRICS_ADDR.
	ws := httptest.NewServer(w.OperateHandler())
	t.Cleanup(ws.Close)
	var wm string
	testenv.Eventually(t, 10*time.Second, "worker metrics for sync and async", func() bool {
		wm = string(gt.Get(t, ws.URL+"/metrics").Body)
		return strings.Contains(wm, `fngate_worker_dead_letters_total{function="fail"} 1`)
	})
	for _, want := range []string{
		`fngate_worker_invocations_total{function="echo",mode="sync",outcome="ok",runtime="go"} 1`,
		`fngate_worker_invocations_total{function="fail",mode="async",outcome="FUNCTION_ERROR",runtime="go"} 1`,
		`fngate_worker_inflight_invocations{function="echo"} 0`,
		`fngate_worker_async_pending{function="fail"} 0`,
	} {
		if !strings.Contains(wm, want) {
			t.Errorf("worker /metrics lacks %s", want)
		}
	}
	if resp := gt.Get(t, ws.URL+"/readyz"); resp.Status != 200 {
		t.Fatalf("worker /readyz = %d %s", resp.Status, resp.Body)
	}

	// Still ready without Redis (issue 12 changed this deliberately: calls
	// are served from the route table in memory); the body and a metric
	// say Redis is down, and up again when it returns.
	s.Redis.Stop()
	if resp := gt.Get(t, gw.AdminURL+"/readyz"); resp.Status != 200 || !strings.Contains(string(resp.Body), `"ready":true`) ||
		!strings.Contains(string(resp.Body), `"redis":"unreachable"`) {
		t.Fatalf("/readyz with Redis down = %d %s", resp.Status, resp.Body)
	}
	if m := string(gt.Get(t, gw.AdminURL+"/metrics").Body); !strings.Contains(m, "fngate_gateway_redis_up 0") {
		t.Error("fngate_gateway_redis_up is not 0 with Redis down")
	}
	if resp := gt.Get(t, gw.URL+"/echo"); resp.Status != 200 {
		t.Fatalf("call with Redis down = %d", resp.Status)
	}
	if err := s.Redis.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "Redis reported up again", func() bool {
		return strings.Contains(string(gt.Get(t, gw.AdminURL+"/readyz").Body), `"redis":"ok"`) &&
			strings.Contains(string(gt.Get(t, gw.AdminURL+"/metrics").Body), "fngate_gateway_redis_up 1")
	})
	s.KillWorker(w)
	if err := w.Ready(context.Background()); err == nil {
		t.Fatal("a killed worker reports ready")
	}
	if resp := gt.Get(t, ws.URL+"/readyz"); resp.Status != 503 {
		t.Fatalf("killed worker /readyz = %d", resp.Status)
	}
}

func TestTraceContextPropagation(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/t", "t"), route.Route{Domain: "*", Path: "/ta", Function: "t", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	seen := make(chan [2]string, 4)
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"t": sdk.HandlerFunc(func(ctx context.Context, ev *event.Event) (any, error) {
			info, _ := sdk.InfoFrom(ctx)
			seen <- [2]string{info.TraceParent, ev.RequestContext.TraceParent}
			return "ok", nil
		}),
	})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	h := http.Header{"Traceparent": {tp}}
	gt.Do(t, "GET", gw.URL+"/t", "", h, nil)
	if got := testenv.Recv(t, seen, 10*time.Second, "the function ran"); got != [2]string{tp, tp} {
		t.Fatalf("sync: context %q, event %q; want %q", got[0], got[1], tp)
	}
	acceptOK(t, gw.URL+"/ta", h, "")
	if got := testenv.Recv(t, seen, 10*time.Second, "the function ran"); got != [2]string{tp, tp} {
		t.Fatalf("async: context %q, event %q; want %q", got[0], got[1], tp)
	}
	// An invalid or missing one is not passed on.
	for _, bad := range []string{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "garbage", ""} {
		gt.Do(t, "GET", gw.URL+"/t", "", http.Header{"Traceparent": {bad}}, nil)
		if got := testenv.Recv(t, seen, 10*time.Second, "the function ran"); got != [2]string{"", ""} {
			t.Fatalf("traceparent %q became %q / %q", bad, got[0], got[1])
		}
	}
}

func TestSlowClientCutOff(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"))
	s.Worker(worker.Config{}, builtin.Functions())
	gw := s.Gateway(gateway.Config{ReadTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Declares 10 bytes of body, sends one, then stalls.
	if _, err := conn.Write([]byte("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\na")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(conn) // ends when the server gives up on us
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("slow client held the connection %s", d)
	}
	// The read fails inside the gateway: it answers 400 or just closes.
	if len(b) > 0 && !strings.Contains(string(b), "400") {
		t.Fatalf("answer to a stalled body: %q", b)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	s := gt.New(t,
		route.Route{Domain: "*", Path: "/api", Function: "f", Methods: []string{"POST"}, CORS: &route.CORS{
			AllowOrigins: []string{"https://app.example.com"}, ExposeHeaders: []string{"X-Request-Id"}, MaxAge: route.Duration(10 * time.Minute)}},
		route.Route{Domain: "*", Path: "/open", Function: "f", CORS: &route.CORS{AllowOrigins: []string{"*"}}},
		r("*", "/plain", "f"),
	)
	gw := s.Gateway(gateway.Config{})
	var calls atomic.Int64
	s.Worker(worker.Config{}, map[string]sdk.Handler{"f": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
		calls.Add(1)
		return "ok", nil
	})})
	const app = "https://app.example.com"
	pre := http.Header{"Origin": {app}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type, idempotency-key"}}
	resp := gt.Do(t, "OPTIONS", gw.URL+"/api", "", pre, nil)
	if resp.Status != 204 || resp.Header.Get("Access-Control-Allow-Origin") != app || resp.Header.Get("Access-Control-Allow-Methods") != "POST" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "content-type, idempotency-key" || resp.Header.Get("Access-Control-Max-Age") != "600" || resp.Header.Get("Vary") != "Origin" {
		t.Fatalf("preflight = %d %v", resp.Status, resp.Header)
	}
	pre.Set("Origin", "https://evil.example")
	assertError(t, gt.Do(t, "OPTIONS", gw.URL+"/api", "", pre, nil), 403, "CORS_ORIGIN_DENIED")
	if calls.Load() != 0 {
		t.Fatal("a preflight reached the function")
	}
	resp = gt.Do(t, "POST", gw.URL+"/api", "", http.Header{"Origin": {app}}, nil)
	if resp.Status != 200 || resp.Header.Get("Access-Control-Allow-Origin") != app || resp.Header.Get("Access-Control-Expose-Headers") != "X-Request-Id" {
		t.Fatalf("allowed call = %d %v", resp.Status, resp.Header)
	}
	resp = gt.Do(t, "POST", gw.URL+"/api", "", http.Header{"Origin": {"https://evil.example"}}, nil)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a foreign origin got CORS headers: %v", resp.Header)
	}
	if resp := gt.Do(t, "GET", gw.URL+"/open", "", http.Header{"Origin": {"https://any.example"}}, nil); resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("wildcard route = %v", resp.Header)
	}
	if resp := gt.Do(t, "GET", gw.URL+"/plain", "", http.Header{"Origin": {app}}, nil); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("route without CORS answered with CORS headers: %v", resp.Header)
	}
	// An invalid policy is refused by the admin API, naming the field.
	bad := gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "", jsonType, []byte(`{"domain":"*","path":"/x","function":"f","cors":{"allowOrigins":["*"],"allowCredentials":true}}`))
	assertError(t, bad, 400, "INVALID_ROUTE")
	if !strings.Contains(string(bad.Body), `"field":"cors.allowOrigins"`) {
		t.Fatalf("error body %s", bad.Body)
	}
}

func TestFunctionsFromHeartbeats(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/sleep", "sleep"))
	gw := s.Gateway(gateway.Config{})
	// TTL 6s: its last beat was at most 2s before the drain, so a worker
	// gone within 3s of it was removed by its leaving beat, not by expiry.
	fast := worker.Config{HeartbeatInterval: 2 * time.Second}
	sleep := sdk.HandlerFunc(builtin.Sleep)
	w1 := s.Worker(fast, map[string]sdk.Handler{"sleep": sleep, "echo": sdk.HandlerFunc(builtin.Echo)})
	s.Worker(fast, map[string]sdk.Handler{"sleep": sleep})
	get := func() map[string]gateway.FunctionLoad { return functionsByName(t, gw.AdminURL) }
	testenv.Eventually(t, 5*time.Second, "both workers listed", func() bool {
		m := get()
		return m["sleep"].Workers == 2 && m["echo"].Workers == 1 && m["sleep"].Concurrency == 128
	})
	call := gt.GoGet(gw.URL + "/sleep?ms=2500")
	testenv.Eventually(t, 5*time.Second, "in-flight load reported", func() bool { return get()["sleep"].InFlight == 1 })
	call.Wait(t, 30*time.Second)
	// A drained worker says it leaves: gone at once, not after its TTL.
	if err := w1.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 3*time.Second, "drained worker gone before its TTL", func() bool {
		m := get()
		_, echo := m["echo"]
		return !echo && m["sleep"].Workers == 1
	})
}

// functionsByName reads GET /admin/functions.
func functionsByName(t *testing.T, adminURL string) map[string]gateway.FunctionLoad {
	t.Helper()
	var l struct {
		Functions []gateway.FunctionLoad `json:"functions"`
	}
	gt.Get(t, adminURL+"/admin/functions").JSON(t, &l)
	m := map[string]gateway.FunctionLoad{}
	for _, f := range l.Functions {
		m[f.Function] = f
	}
	return m
}
