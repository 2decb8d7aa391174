package runtime

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// examples is the folder of the example functions, from this package's
// directory (where go test runs).
const examples = "../../deployments/functions"

// examplesPython holds the same examples in Python.
const examplesPython = "../../deployments/functions-python"

// e2eCase is one language's examples and failure fixtures, which must pass
// the same end-to-end suite.
type e2eCase struct {
	examples, fixtures string
	// received is the JSON text process answers for {"raw": "\u00e9\u2028"}:
	// the language's own JSON encoding.
	received string
}

// TestEndToEnd serves the example functions and the failure fixtures through
// a real gateway, NATS, Redis and worker, over HTTP: the Node.js ones and
// their Python twins.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]e2eCase{
		RuntimeNode:   {examples, fixtures, "{\"raw\":\"é\u2028\"}"},
		RuntimePython: {examplesPython, fixturesPython, "{\"raw\": \"é\u2028\"}"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			endToEnd(t, name, c)
		})
	}
}

func endToEnd(t *testing.T, lang string, c e2eCase) {
	rt, _ := start(t, Config{Logger: gt.Logger(t)}, c.examples)
	if got := strings.Join(rt.Functions(), ","); got != "greet,hello-world,process,users" {
		t.Fatalf("example functions = %s", got)
	}
	fixtureNames := []string{"throw", "reject", "busy", "hang", "exit", "syntax-error", "no-main", "binary"}
	fx, _ := start(t, Config{Logger: gt.Logger(t)}, copyFrom(t, c.fixtures, fixtureNames...))
	if got := rt.Handler("greet").(worker.RuntimeNamer).RuntimeName(); got != lang {
		t.Fatalf("runtime label %q, want %s", got, lang)
	}

	handlers := map[string]sdk.Handler{}
	routes := []route.Route{
		{Domain: "*", Path: "/api/hello", Function: "hello-world"},
		{Domain: "*", Path: "/greet", Function: "greet", Methods: []string{"GET"}},
		{Domain: "*", Path: "/process", Function: "process", Methods: []string{"POST"}},
		{Domain: "*", Path: "/users", Function: "users"},
	}
	for _, n := range rt.Functions() {
		handlers[n] = rt.Handler(n)
	}
	for _, n := range fixtureNames {
		handlers[n] = fx.Handler(n)
		routes = append(routes, route.Route{Domain: "*", Path: "/" + n, Function: n, Timeout: route.Duration(time.Second)})
	}
	stack := gt.New(t, routes...)
	stack.Worker(worker.Config{Concurrency: rt.Concurrency()}, handlers)
	gw := stack.Gateway(gateway.Config{})

	type body = map[string]any
	jsonBody := func(r *gt.Response) body {
		t.Helper()
		var b body
		r.JSON(t, &b)
		return b
	}
	expect := func(r *gt.Response, status int, what string) {
		t.Helper()
		if r.Status != status {
			t.Fatalf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
		}
	}

	t.Run("examples", func(t *testing.T) {
		r := gt.Get(t, gw.URL+"/api/hello")
		expect(r, 200, "hello-world")
		if b := jsonBody(r); b["message"] != "success" {
			t.Fatalf("hello-world: %s", r.Body)
		}

		r = gt.Get(t, gw.URL+"/greet?name=CloudBase")
		expect(r, 200, "greet")
		if b := jsonBody(r); b["message"] != "Hello, CloudBase!" || b["timestamp"].(float64) < 1e12 || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("greet: %s %v", r.Body, r.Header)
		}
		if b := jsonBody(gt.Get(t, gw.URL+"/greet")); b["message"] != "Hello, Guest!" {
			t.Fatalf("greet without name: %v", b)
		}

		r = gt.Do(t, http.MethodPost, gw.URL+"/process", "", http.Header{"Content-Type": {"application/json"}}, []byte(`{"userId": 123, "action": "update"}`))
		expect(r, 200, "process")
		var p struct {
			Received  map[string]any
			Processed bool
		}
		r.JSON(t, &p)
		if !p.Processed || p.Received["userId"] != float64(123) || p.Received["action"] != "update" {
			t.Fatalf("process: %s", r.Body)
		}
		r = gt.Do(t, http.MethodPost, gw.URL+"/process", "", nil, []byte(`{not json`))
		expect(r, 400, "process with a bad body")
		if e, _ := jsonBody(r)["error"].(string); !strings.Contains(e, "not valid JSON") {
			t.Fatalf("process with a bad body: %s", r.Body)
		}

		r = gt.Get(t, gw.URL+"/users")
		expect(r, 200, "users")
		var list []map[string]any
		r.JSON(t, &list)
		if len(list) != 2 || list[0]["name"] != "User1" {
			t.Fatalf("users: %s", r.Body)
		}
		r = gt.Get(t, gw.URL+"/users/1")
		expect(r, 200, "users/1")
		if b := jsonBody(r); b["id"] != float64(1) || b["name"] != "User1" {
			t.Fatalf("users/1: %s", r.Body)
		}
		for _, r := range []*gt.Response{gt.Get(t, gw.URL+"/users/9"), gt.Do(t, http.MethodPost, gw.URL+"/users", "", nil, nil)} {
			expect(r, 404, "users not found")
			if b := jsonBody(r); b["error"] != "Not Found" {
				t.Fatalf("users 404 is not the function's: %s", r.Body)
			}
		}
	})

	t.Run("failures", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			status int
			code   string
		}{
			{"/throw", 502, "FUNCTION_ERROR"},
			{"/reject", 502, "FUNCTION_ERROR"},
			{"/syntax-error", 502, "FUNCTION_LOAD_ERROR"},
			{"/no-main", 502, "FUNCTION_LOAD_ERROR"},
			{"/exit?exit=1", 502, "FUNCTION_ERROR"},
			{"/busy?spin=1", 504, "TIMEOUT"},
			{"/hang?hang=1", 504, "TIMEOUT"},
		} {
			start := time.Now()
			r := gt.Get(t, gw.URL+c.path)
			took := time.Since(start)
			expect(r, c.status, c.path)
			if r.ErrorCode() != c.code {
				t.Fatalf("%s: code %q, want %s; body %s", c.path, r.ErrorCode(), c.code, r.Body)
			}
			if strings.Contains(string(r.Body), "secret") {
				t.Fatalf("%s: error message reached the client: %s", c.path, r.Body)
			}
			if c.status == 504 && (took < 900*time.Millisecond || took > 10*time.Second) {
				t.Fatalf("%s: 504 after %s, want the route's 1s", c.path, took)
			}
		}
		// Each function serves again: busy and exit on a new process, hang on
		// the same one, its event loop being free.
		// A replacement may need longer than the route's 1s to load under
		// -race on busy cores: poll.
		for _, p := range []string{"/busy", "/hang", "/exit"} {
			testenv.Eventually(t, 20*time.Second, p+" serves after its failure", func() bool {
				return gt.Get(t, gw.URL+p).Status == 200
			})
		}
	})

	t.Run("binary", func(t *testing.T) {
		r := gt.Get(t, gw.URL+"/binary")
		expect(r, 200, "binary")
		if r.Header.Get("Content-Type") != "image/png" || len(r.Body) != 256 {
			t.Fatalf("binary: %v, %d bytes", r.Header, len(r.Body))
		}
		for i, b := range r.Body {
			if int(b) != i {
				t.Fatalf("byte %d = %d", i, b)
			}
		}
	})

	// The event reached the function as the gateway built it.
	t.Run("event", func(t *testing.T) {
		r := gt.Do(t, http.MethodPost, gw.URL+"/process", "", http.Header{"X-Request-Id": {"e2e-req-1"}}, []byte(`{"raw": "\u00e9\u2028"}`))
		expect(r, 200, "process")
		var p struct{ Received json.RawMessage }
		r.JSON(t, &p)
		if string(p.Received) != c.received { // the JSON text the function produced
			t.Fatalf("received %s", p.Received)
		}
		if r.Header.Get("X-Request-Id") != "e2e-req-1" {
			t.Fatalf("request id %q", r.Header.Get("X-Request-Id"))
		}
	})
}

// TestEndToEndConcurrent sends 200 concurrent HTTP calls to one Node
// function on one process: every answer is its own, none mixed up, and
// context.traceparent carries each call's trace context.
func TestEndToEndConcurrent(t *testing.T) {
	t.Parallel()
	fx, _ := startFixtures(t, Config{Logger: gt.Logger(t)}, "echo")
	stack := gt.New(t, route.Route{Domain: "*", Path: "/echo", Function: "echo"})
	stack.Worker(worker.Config{Concurrency: 256}, map[string]sdk.Handler{"echo": fx.Handler("echo")})
	gw := stack.Gateway(gateway.Config{})
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("req-%03d", i)
			tp := fmt.Sprintf("00-%032x-%016x-01", i+1, i+1)
			r := gt.Do(t, "POST", fmt.Sprintf("%s/echo?v=%d", gw.URL, i), "", http.Header{"X-Request-Id": {id}, "Traceparent": {tp}}, []byte(fmt.Sprintf("body-%d", i)))
			var b struct {
				Value       string `json:"value"`
				Body        string `json:"body"`
				RequestID   string `json:"requestId"`
				TraceParent string `json:"traceparent"`
			}
			if err := json.Unmarshal(r.Body, &b); err != nil || r.Status != 200 {
				errs <- fmt.Errorf("call %d: %d %s", i, r.Status, r.Body)
				return
			}
			if b.Value != fmt.Sprint(i) || b.Body != fmt.Sprintf("body-%d", i) || b.RequestID != id || b.TraceParent != tp || r.Header.Get("X-Request-Id") != id {
				errs <- fmt.Errorf("call %d got another call's answer: %+v", i, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
