package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// TestBinariesEndToEnd runs the real gateway and worker binaries as the
// README does (embedded NATS, routes file, env configuration) and checks
// SIGTERM: a worker restarted under a request in flight loses nothing, and
// the gateway finishes in-flight requests before exiting.
func TestBinariesEndToEnd(t *testing.T) {
	bin, rd, routes := realProcesses(t, `{domain: "*", path: /sleep, function: sleep, timeout: 10s}`)
	gw, httpPort, _, natsPort := startGateway(t, bin, rd, routes, "FNGATE_NO_WORKER_WAIT=8s")
	workerEnv := []string{"FNGATE_NATS_URL=nats://127.0.0.1:" + itoa(natsPort), "FNGATE_BUILTINS=hello,sleep", "FNGATE_LOG_LEVEL=debug", "FNGATE_METRICS_ADDR=127.0.0.1:0"}
	w1 := start(t, bin+"/worker", workerEnv...)
	base := "http://127.0.0.1:" + itoa(httpPort)
	testenv.Eventually(t, 20*time.Second, "gateway and worker answer", func() bool {
		code, body := get(base + "/greet?name=Bin")
		return code == 200 && strings.Contains(body, "Hello, Bin!")
	})

	// Worker restart: w1 holds a request when it gets SIGTERM; it answers
	// it, exits 0, and a request sent meanwhile waits for w2.
	inflight := make(chan string, 1)
	go func() { code, body := get(base + "/sleep?ms=700"); inflight <- fmt.Sprintf("%d %s", code, body) }()
	w1.waitInvocation(t, "sleep") // the worker holds the request
	w1.signal(t, syscall.SIGTERM)
	sigAt := time.Now()
	during := make(chan string, 1)
	go func() { code, body := get(base + "/greet?name=During"); during <- fmt.Sprintf("%d %s", code, body) }()
	if err := w1.wait(15 * time.Second); err != nil {
		t.Fatalf("worker exit after SIGTERM: %v\n%s", err, w1.logs())
	}
	t.Logf("worker exited %s after SIGTERM", time.Since(sigAt))
	if got := testenv.Recv(t, inflight, time.Minute, "the in-flight request's answer"); got != `200 {"slept":700}` {
		t.Fatalf("request in flight on the drained worker = %s", got)
	}
	w2 := start(t, bin+"/worker", workerEnv...)
	if got := testenv.Recv(t, during, time.Minute, "the answer to the request sent while no worker ran"); !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "Hello, During!") {
		t.Fatalf("request sent while no worker ran = %s", got)
	}

	// Gateway SIGTERM: the in-flight request completes, then it exits 0.
	go func() { code, body := get(base + "/sleep?ms=700"); inflight <- fmt.Sprintf("%d %s", code, body) }()
	w2.waitInvocation(t, "sleep") // the gateway holds the request
	gw.signal(t, syscall.SIGTERM)
	if got := testenv.Recv(t, inflight, time.Minute, "the in-flight request's answer"); got != `200 {"slept":700}` {
		t.Fatalf("request in flight on the stopped gateway = %s", got)
	}
	if err := gw.wait(15 * time.Second); err != nil {
		t.Fatalf("gateway exit after SIGTERM: %v\n%s", err, gw.logs())
	}
}

// TestRunRefusesBadSettings: run refuses, before it connects to anything,
// settings that cannot work, naming the setting.
func TestRunRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct{ env, value, want string }{
		{"FNGATE_ADMIN_ADDR", "0.0.0.0:0", "FNGATE_ADMIN_TOKEN"},
		{"FNGATE_NATS_SYNC", "sometimes", "FNGATE_NATS_SYNC"},
		{"FNGATE_QUEUE_MAX_BYTES", "1000", "FNGATE_QUEUE_MAX_BYTES"},
		{"FNGATE_DEAD_MAX_BYTES", "1000", "FNGATE_DEAD_MAX_BYTES"},
		{"FNGATE_ASYNC_MAX_BODY", "-1", "AsyncMaxBody"},
		{"FNGATE_MAX_DELAY", "200h", "MaxDelay"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv("FNGATE_ADMIN_ADDR", "127.0.0.1:0")
			t.Setenv(tc.env, tc.value)
			o, err := parse(nil)
			if err != nil {
				t.Fatal(err)
			}
			o.gw.Logger = slogDiscard()
			err = run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v, want a refusal naming %s", err, tc.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	t.Setenv("FNGATE_DEFAULT_DOMAINS", "a.example, b.example")
	t.Setenv("FNGATE_MAX_BODY_BYTES", "1000")
	o, err := parse([]string{"-http-addr", "127.0.0.1:9", "-no-worker-wait", "2s"})
	if err != nil {
		t.Fatal(err)
	}
	if o.gw.HTTPAddr != "127.0.0.1:9" || o.gw.MaxBodyBytes != 1000 || o.gw.NoWorkerWait != 2*time.Second ||
		strings.Join(o.gw.DefaultDomains, ",") != "a.example,b.example" || o.redis.URL != "redis://127.0.0.1:6379/0" {
		t.Fatalf("parse = %+v", o)
	}
	if _, err := parse([]string{"-bogus"}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}

func itoa(n int) string { return fmt.Sprint(n) }

func get(url string) (int, string) {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// proc is a child process whose logs are kept for failure messages.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan error
}

func start(t *testing.T, path string, env ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(path), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			p.mu.Lock()
			p.out.WriteString(s.Text() + "\n")
			p.mu.Unlock()
		}
		close(copied)
	}()
	go func() { <-copied; p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.wait(10 * time.Second)
	})
	return p
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitInvocation waits for the worker's debug line saying an invocation of
// function started.
func (p *proc) waitInvocation(t *testing.T, function string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, "invocation of "+function+" started", func() bool {
		for line := range strings.SplitSeq(p.logs(), "\n") {
			if strings.Contains(line, `"msg":"invocation started"`) && strings.Contains(line, `"function":"`+function+`"`) {
				return true
			}
		}
		return false
	})
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process to exit and returns its exit error; a second
// call returns nil at once.
func (p *proc) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		return err
	case <-time.After(d):
		return fmt.Errorf("still running after %s", d)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestInvocationsCLI(t *testing.T) {
	s := gt.New(t, route.Route{Domain: "*", Path: "/fail", Function: "fail", Mode: "async", Retry: &route.Retry{MaxAttempts: 1}})
	gw := s.Gateway(gateway.Config{AdminToken: "cli-test-admin-token"})
	s.Worker(worker.Config{}, builtin.Functions())
	t.Setenv("FNGATE_ADMIN_URL", gw.AdminURL)
	t.Setenv("FNGATE_ADMIN_TOKEN", "cli-test-admin-token")
	resp := gt.Do(t, "POST", gw.URL+"/fail", "", nil, nil)
	var a struct{ InvocationID string }
	resp.JSON(t, &a)
	var out strings.Builder
	testenv.Eventually(t, 10*time.Second, "dead letter listed", func() bool {
		out.Reset()
		if err := invocationsCLI([]string{"list", "-status", "dead"}, &out); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(out.String(), a.InvocationID)
	})
	if !strings.Contains(out.String(), "fail") || !strings.Contains(out.String(), "1/1") {
		t.Fatalf("list output:\n%s", out.String())
	}
	out.Reset()
	if err := invocationsCLI([]string{"get", a.InvocationID}, &out); err != nil || !strings.Contains(out.String(), `"status": "dead"`) {
		t.Fatalf("get: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := invocationsCLI([]string{"replay", a.InvocationID}, &out); err != nil || !strings.Contains(out.String(), a.InvocationID+" replayed as ") {
		t.Fatalf("replay: %v\n%s", err, out.String())
	}
	replay := strings.Fields(out.String())[3]
	// The replay fails too (fail always fails); the filter then replays
	// it, never the original a second time.
	testenv.Eventually(t, 10*time.Second, "replay dead", func() bool {
		inv, err := s.Invocations.Get(context.Background(), replay)
		return err == nil && inv.Status == "dead"
	})
	out.Reset()
	if err := invocationsCLI([]string{"replay", "-function", "fail"}, &out); err != nil ||
		!strings.Contains(out.String(), replay+" replayed as ") || strings.Contains(out.String(), a.InvocationID+" replayed") || !strings.Contains(out.String(), "1 replayed, 0 errors") {
		t.Fatalf("replay by filter: %v\n%s", err, out.String())
	}
	t.Setenv("FNGATE_ADMIN_TOKEN", "wrong")
	if err := invocationsCLI([]string{"list"}, &out); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
		t.Fatalf("wrong token: %v", err)
	}
	if err := invocationsCLI([]string{"bogus"}, &out); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// TestSchedulesCLI: gateway schedules create, list and delete through the
// admin API.
func TestSchedulesCLI(t *testing.T) {
	s := gt.New(t)
	gw := s.Gateway(gateway.Config{AdminToken: "cli-test-admin-token"})
	t.Setenv("FNGATE_ADMIN_URL", gw.AdminURL)
	t.Setenv("FNGATE_ADMIN_TOKEN", "cli-test-admin-token")
	var out strings.Builder
	run := func(args ...string) string {
		t.Helper()
		out.Reset()
		if err := schedulesCLI(args, &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	if got := run("create", "-id", "nightly", "-function", "echo", "-cron", "0 30 2 * * *", "-timezone", "Europe/Paris", "-header", "x-a=1", "-max-attempts", "2"); got != "schedule nightly created\n" {
		t.Fatalf("create: %q", got)
	}
	if got := run("list"); !strings.Contains(got, "nightly") || !strings.Contains(got, "cron 0 30 2 * * *") || !strings.Contains(got, "Europe/Paris") {
		t.Fatalf("list:\n%s", got)
	}
	if err := schedulesCLI([]string{"create", "-function", "echo", "-every", "10ms"}, &out); err == nil || !strings.Contains(err.Error(), "INVALID_SCHEDULE") {
		t.Fatalf("bad interval: %v", err)
	}
	if got := run("delete", "nightly"); got != "schedule nightly deleted\n" {
		t.Fatalf("delete: %q", got)
	}
	if got := run("list"); strings.Contains(got, "nightly") {
		t.Fatalf("list after delete:\n%s", got)
	}
}
