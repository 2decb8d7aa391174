package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// rawDo sends one HTTP/1.1 request written by hand, so that no client
// cleans or re-encodes the target, and reads the response.
func rawDo(t *testing.T, base, method, target, host string, header map[string]string, body string) *gt.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if host == "" {
		host = "localhost"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: %d\r\n", method, target, host, len(body))
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n" + body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &gt.Response{Status: resp.StatusCode, Header: resp.Header, Body: rb}
}

// TestPathCleaning sends targets no client would clean over raw HTTP: the
// gateway matches and builds the event from the cleaned path, so the
// target route's methods and required Idempotency-Key apply, and a path
// that climbs above / or hides a slash as %2F is refused.
func TestPathCleaning(t *testing.T) {
	t.Parallel()
	pay := route.Route{Domain: "*", Path: "/pay", Function: "echo", Methods: []string{"POST"}, Idempotency: &route.Idempotency{Required: true}}
	public := route.Route{Domain: "*", Path: "/public", Function: "echo", Methods: []string{"GET", "POST"}}
	s := gt.New(t, pay, public, r("*", "/a", "echo"))
	s.Worker(worker.Config{}, builtin.Functions())
	gw := s.Gateway(gateway.Config{})
	key := 0
	withKey := func() map[string]string {
		key++
		return map[string]string{"Idempotency-Key": "k-" + t.Name() + strconv.Itoa(key)}
	}

	cases := []struct {
		method, target string
		header         map[string]string
		status         int
		code, path     string // error code, or the path the function saw
	}{
		// /public allows GET; /pay does not, and its rule is the one that holds.
		{"GET", "/public/../pay", nil, 405, "METHOD_NOT_ALLOWED", ""},
		{"GET", "/public/%2e%2e/pay", nil, 405, "METHOD_NOT_ALLOWED", ""},
		{"GET", "/public/%2E%2E/pay", nil, 405, "METHOD_NOT_ALLOWED", ""},
		// /public takes POST without a key; /pay requires one.
		{"POST", "/public/../pay", nil, 400, "INVALID_IDEMPOTENCY_KEY", ""},
		{"POST", "/public/./../pay", withKey(), 200, "", "/pay"},
		{"POST", "//pay", withKey(), 200, "", "/pay"},
		{"POST", "/pay//x/", withKey(), 200, "", "/pay/x/"},
		{"GET", "/a/./b", nil, 200, "", "/a/b"},
		{"GET", "/a/b/../c", nil, 200, "", "/a/c"},
		{"GET", "/public/./", nil, 200, "", "/public/"},
		// Refused: an encoded slash, whatever the route would say of it,
		// and paths above the root, encoded or not.
		{"POST", "/pay%2Fx", withKey(), 400, "INVALID_PATH", ""},
		{"GET", "/public%2f..%2fpay", nil, 400, "INVALID_PATH", ""},
		{"POST", "/%2e%2e/pay", withKey(), 400, "INVALID_PATH", ""},
		{"POST", "/../pay", withKey(), 400, "INVALID_PATH", ""},
		{"GET", "/public/../../a", nil, 400, "INVALID_PATH", ""},
	}
	for _, c := range cases {
		resp := rawDo(t, gw.URL, c.method, c.target, "", c.header, "")
		if resp.Status != c.status || resp.ErrorCode() != c.code {
			t.Errorf("%s %s = %d %s, want %d %s", c.method, c.target, resp.Status, resp.Body, c.status, c.code)
			continue
		}
		if c.path != "" {
			var ev event.Event
			resp.JSON(t, &ev)
			if ev.Path != c.path {
				t.Errorf("%s %s: the function saw path %q, want %q", c.method, c.target, ev.Path, c.path)
			}
		}
	}
}

// TestHostTrailingDot: "shop.example.com." is the same host as
// "shop.example.com".
func TestHostTrailingDot(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("shop.example.com", "/shop", "echo"), r("default", "/d", "echo"))
	s.Worker(worker.Config{}, builtin.Functions())
	gw := s.Gateway(gateway.Config{DefaultDomains: []string{"localhost"}})
	for _, host := range []string{"shop.example.com.", "Shop.Example.COM.:8080", "shop.example.com"} {
		ev := echoEvent(t, gt.Do(t, "GET", gw.URL+"/shop", host, nil, nil))
		if ev.RequestContext.Domain != "shop.example.com" {
			t.Errorf("Host %q: domain %q", host, ev.RequestContext.Domain)
		}
	}
	if resp := gt.Do(t, "GET", gw.URL+"/d", "localhost.:1", nil, nil); resp.Status != 200 {
		t.Errorf("default domain with a trailing dot = %d %s", resp.Status, resp.Body)
	}
}

// metric reads one unlabelled series (or one with the given labels) from
// the gateway's /metrics: -1 when absent.
func metric(t *testing.T, gw *gt.Gateway, series string) float64 {
	t.Helper()
	resp := gt.Get(t, gw.AdminURL+"/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(resp.Body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMaxInflight: with two requests held by a slow function, the third
// is answered 503 OVERLOADED with Retry-After at once; when they finish,
// requests are served again.
func TestMaxInflight(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/sleep", "sleep"), r("*", "/greet", "hello"))
	s.Worker(worker.Config{}, builtin.Functions())
	gw := s.Gateway(gateway.Config{MaxInflight: 2})
	var held [2]*gt.Call
	for i := range held {
		held[i] = gt.GoGet(gw.URL + "/sleep?ms=1500")
	}
	testenv.Eventually(t, 10*time.Second, "two calls in flight", func() bool { return gw.InFlight() == 2 })
	resp := gt.Get(t, gw.URL+"/greet")
	if resp.Status != 503 || resp.ErrorCode() != "OVERLOADED" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request = %d %v %s, want 503 OVERLOADED with Retry-After", resp.Status, resp.Header, resp.Body)
	}
	if v := metric(t, gw, "fngate_gateway_inflight_requests"); v != 2 {
		t.Errorf("fngate_gateway_inflight_requests = %v, want 2", v)
	}
	if v := metric(t, gw, `fngate_gateway_overload_refusals_total{limit="requests"}`); v != 1 {
		t.Errorf("refusals = %v, want 1", v)
	}
	for _, call := range held {
		if resp := call.Wait(t, 30*time.Second); resp.Status != 200 {
			t.Errorf("held request = %d %s", resp.Status, resp.Body)
		}
	}
	testenv.Eventually(t, 5*time.Second, "in-flight requests back to 0", func() bool {
		return metric(t, gw, "fngate_gateway_inflight_requests") == 0
	})
	if resp := gt.Get(t, gw.URL+"/greet"); resp.Status != 200 {
		t.Fatalf("after the held requests = %d %s", resp.Status, resp.Body)
	}
}

// TestMaxInflightBytes: a caller that declares a body and trickles it
// holds the byte budget; a declared body that does not fit is refused
// before it is read, a chunked one when its bytes run past the budget,
// and a request without a body is still served. Closing the slow
// connection gives the budget back.
func TestMaxInflightBytes(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"))
	s.Worker(worker.Config{}, builtin.Functions())
	const budget = 100_000
	gw := s.Gateway(gateway.Config{MaxInflightBytes: budget, MaxBodyBytes: budget})
	addr := strings.TrimPrefix(gw.URL, "http://")

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := fmt.Fprintf(slow, "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\nx", budget-10); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the slow body holds its declared length", func() bool {
		return metric(t, gw, "fngate_gateway_inflight_body_bytes") == budget-10
	})

	// A declared body past the budget is answered before it is sent: the
	// gateway neither reads nor drains it.
	unsent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer unsent.Close()
	_ = unsent.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(unsent, "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	ur, err := http.ReadResponse(bufio.NewReader(unsent), nil)
	if err != nil {
		t.Fatalf("declared body past the budget, not sent: no answer: %v", err)
	}
	ubody, _ := io.ReadAll(ur.Body)
	ur.Body.Close()
	if ur.StatusCode != 503 || !strings.Contains(string(ubody), `"OVERLOADED"`) || ur.Header.Get("Retry-After") == "" {
		t.Fatalf("declared body past the budget = %d %v %s", ur.StatusCode, ur.Header, ubody)
	}
	// Chunked: no length to reserve; refused as its bytes arrive.
	chunk := strings.Repeat("z", 64)
	req, _ := http.NewRequest("POST", gw.URL+"/echo", io.MultiReader(strings.NewReader(chunk), strings.NewReader(chunk)))
	req.ContentLength = -1
	cr, err := gt.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cbody, _ := io.ReadAll(cr.Body)
	cr.Body.Close()
	if cr.StatusCode != 503 || !strings.Contains(string(cbody), "OVERLOADED") {
		t.Fatalf("chunked body past the budget = %d %s", cr.StatusCode, cbody)
	}
	if resp := gt.Get(t, gw.URL+"/echo"); resp.Status != 200 {
		t.Fatalf("request without a body = %d %s", resp.Status, resp.Body)
	}
	if v := metric(t, gw, `fngate_gateway_overload_refusals_total{limit="bytes"}`); v != 2 {
		t.Errorf("byte refusals = %v, want 2", v)
	}

	slow.Close()
	testenv.Eventually(t, 10*time.Second, "the budget released", func() bool {
		return metric(t, gw, "fngate_gateway_inflight_body_bytes") == 0
	})
	body := strings.Repeat("w", budget)
	ev := echoEvent(t, rawDo(t, gw.URL, "POST", "/echo", "", nil, body))
	if ev.Body != body {
		t.Fatalf("a body of the whole budget came back as %d bytes", len(ev.Body))
	}
	// Chunked bodies within the budget are read whole.
	req, _ = http.NewRequest("POST", gw.URL+"/echo", io.MultiReader(strings.NewReader(body[:50_000]), strings.NewReader(body[50_000:])))
	req.ContentLength = -1
	cr, err = gt.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cbody, _ = io.ReadAll(cr.Body)
	cr.Body.Close()
	if cr.StatusCode != 200 || !strings.Contains(string(cbody), body) {
		t.Fatalf("chunked body within the budget = %d %.200s", cr.StatusCode, cbody)
	}
	if v := metric(t, gw, "fngate_gateway_inflight_body_bytes"); v != 0 {
		t.Errorf("budget held after the calls: %v", v)
	}
}

func TestAdmissionConfig(t *testing.T) {
	t.Parallel()
	cfg := gateway.Config{AdminAddr: "127.0.0.1:0"}.WithDefaults()
	if cfg.MaxInflight != gateway.DefaultMaxInflight || cfg.MaxInflightBytes != 256<<20 {
		t.Fatalf("defaults: MaxInflight %d, MaxInflightBytes %d", cfg.MaxInflight, cfg.MaxInflightBytes)
	}
	for _, bad := range []gateway.Config{
		{MaxInflight: -1},
		{MaxInflightBytes: -1},
		{MaxInflightBytes: 1000, MaxBodyBytes: 1001}, // such a body could never be served
	} {
		bad.AdminAddr = "127.0.0.1:0"
		if err := bad.WithDefaults().Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
}
