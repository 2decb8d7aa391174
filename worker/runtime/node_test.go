package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
)

func TestNewNodeNotFound(t *testing.T) {
	t.Parallel()
	_, err := New(context.Background(), Config{Dir: t.TempDir(), Node: filepath.Join(t.TempDir(), "no-node")})
	if err == nil || !strings.Contains(err.Error(), "node not found: install Node.js 18+ (apt-get install nodejs)") {
		t.Fatalf("err = %v, want node not found", err)
	}
}

func TestNewNodeTooOld(t *testing.T) {
	t.Parallel()
	fake := filepath.Join(t.TempDir(), "node")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho v16.20.2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := New(context.Background(), Config{Dir: t.TempDir(), Node: fake})
	if err == nil || !strings.Contains(err.Error(), "v16.20.2, too old: install Node.js 18+") {
		t.Fatalf("err = %v, want too old", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{}.WithDefaults()
	if c.Node != "node" || c.Procs != 1 || c.Concurrency != 64 || c.MaxOldSpaceMB != 256 || c.ReloadInterval != time.Second || c.ProbeGrace != time.Second || c.Logger == nil || c.ExposeErrors {
		t.Fatalf("defaults = %+v", c)
	}
	if _, err := New(context.Background(), Config{Dir: t.TempDir(), Procs: -1}); err == nil {
		t.Fatal("Procs -1 accepted")
	}
	if _, err := New(context.Background(), Config{Dir: t.TempDir(), ProbeGrace: -time.Second}); err == nil {
		t.Fatal("ProbeGrace -1s accepted")
	}
	if _, err := New(context.Background(), Config{}); err == nil {
		t.Fatal("empty Dir accepted")
	}
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	dir := copyFunctions(t, "plain", "Bad_Name", "echo")
	if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil { // no index.js
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a function"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, rec := start(t, Config{}, dir)
	if got := rt.Functions(); !slices.Equal(got, []string{"echo", "plain"}) {
		t.Fatalf("Functions() = %v", got)
	}
	if rt.Concurrency() != DefaultConcurrency {
		t.Fatalf("Concurrency() = %d", rt.Concurrency())
	}
	for _, folder := range []string{"Bad_Name", "lib"} {
		if _, ok := rec.find(func(r record) bool { return r.Level == slog.LevelWarn && r.Attrs["folder"] == folder }); !ok {
			t.Errorf("no warning for skipped folder %s", folder)
		}
	}
	_, err := invoke(rt, "nope", 5*time.Second, nil)
	if errCode(err) != event.CodeLoadError {
		t.Fatalf("unknown function: err = %v, want %s", err, event.CodeLoadError)
	}
}

// TestResults covers the shapes of main and of what it returns.
func TestResults(t *testing.T) {
	t.Parallel()
	rt, _ := startFixtures(t, Config{}, "plain", "module-exports", "noreturn", "callback", "require-local", "binary", "circular")
	cases := []struct {
		fn   string
		want string
	}{
		{"plain", `{"style":"plain","method":"GET"}`},
		{"module-exports", `{"style":"module.exports.main"}`},
		{"noreturn", `null`},
		{"callback", `{"style":"callback"}`},
		{"require-local", `{"local":"hello local","dep":"fake-dep"}`},
	}
	for _, c := range cases {
		res, err := invoke(rt, c.fn, 10*time.Second, nil)
		if err != nil {
			t.Errorf("%s: %v", c.fn, err)
			continue
		}
		if got := string(res.(json.RawMessage)); got != c.want {
			t.Errorf("%s: result %s, want %s", c.fn, got, c.want)
		}
	}

	// Invoke encodes the event itself.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := newEvent("plain", nil, "")
	ev.HTTPMethod = "DELETE"
	res, err := rt.Handler("plain").Invoke(ctx, ev)
	if err != nil || string(res.(json.RawMessage)) != `{"style":"plain","method":"DELETE"}` {
		t.Errorf("Invoke: %s, %v", res, err)
	}

	// The envelope passes through intact and becomes the binary body.
	res, err = invoke(rt, "binary", 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := event.FromValue(res.(json.RawMessage))
	if err != nil {
		t.Fatal(err)
	}
	if reply.Status != 200 || reply.Header.Get("Content-Type") != "image/png" || len(reply.Body) != 256 {
		t.Fatalf("binary reply: %d %v %d bytes", reply.Status, reply.Header, len(reply.Body))
	}
	for i, b := range reply.Body {
		if int(b) != i {
			t.Fatalf("byte %d = %d", i, b)
		}
	}

	_, err = invoke(rt, "circular", 10*time.Second, nil)
	if errCode(err) != event.CodeInvalidResponse || !strings.Contains(err.Error(), "circular") {
		t.Fatalf("circular: err = %v, want %s about the circular structure", err, event.CodeInvalidResponse)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = rt.Handler("plain").(worker.RawHandler).InvokeRaw(ctx, []byte(`{"path": nope`))
	if errCode(err) != event.CodeInvalidEvent {
		t.Fatalf("bad event JSON: err = %v, want %s", err, event.CodeInvalidEvent)
	}
	if _, err := invoke(rt, "plain", 10*time.Second, nil); err != nil {
		t.Fatalf("after a bad event: %v", err)
	}
}

// TestContext: context carries the same fields in both languages (Python's
// echo reads them as attributes and as keys).
func TestContext(t *testing.T) {
	t.Parallel()
	for lang, from := range map[string]string{RuntimeNode: fixtures, RuntimePython: fixturesPython} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			rt, _ := start(t, Config{}, copyFrom(t, from, "echo"))
			ev := newEvent("echo", map[string]string{"v": "ctx"}, "")
			res, err := call(rt, "echo", ev, 5*time.Second)
			var got struct {
				Value        string
				RequestID    string
				FunctionName string
				EnvID        string
				Remaining    int64
			}
			result(t, res, err, &got)
			if got.Value != "ctx" || got.RequestID != ev.RequestContext.RequestID || got.FunctionName != "echo" || got.EnvID != "env-test" {
				t.Fatalf("context = %+v, event context %+v", got, ev.RequestContext)
			}
			if got.Remaining <= 3000 || got.Remaining > 5000 {
				t.Fatalf("remaining time = %d, want about 5000", got.Remaining)
			}
		})
	}
}

func TestThrownErrors(t *testing.T) {
	t.Parallel()
	rt, rec := startFixtures(t, Config{}, "throw", "reject", "throw-sync")
	for _, fn := range []string{"throw", "reject", "throw-sync"} {
		_, err := invoke(rt, fn, 10*time.Second, nil)
		if errCode(err) != event.CodeFunctionError {
			t.Fatalf("%s: err = %v, want %s", fn, err, event.CodeFunctionError)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("%s: message exposed without ExposeErrors: %v", fn, err)
		}
		r, ok := rec.find(func(r record) bool { return r.Msg == "function threw" && r.Attrs["function"] == fn })
		if !ok {
			t.Fatalf("%s: error not logged", fn)
		}
		if !strings.Contains(r.Attrs["err"], "secret detail") || !strings.Contains(r.Attrs["stack"], "index.js") || !strings.HasPrefix(r.Attrs["request_id"], "req-") {
			t.Fatalf("%s: logged %+v, want message, stack and request id", fn, r.Attrs)
		}
	}

	exposed, _ := startFixtures(t, Config{ExposeErrors: true}, "throw")
	_, err := invoke(exposed, "throw", 10*time.Second, nil)
	if errCode(err) != event.CodeFunctionError || !strings.Contains(err.Error(), "boom: secret detail") {
		t.Fatalf("ExposeErrors: err = %v, want the thrown message", err)
	}
}

func TestConsoleCapture(t *testing.T) {
	t.Parallel()
	rt, rec := startFixtures(t, Config{}, "logs")
	markers := checkCapture(t, rt, rec, "logs", func(m string) []logWant {
		return []logWant{
			{"start " + m, "log", slog.LevelInfo},
			{"after await " + m, "info", slog.LevelInfo},
			{"in timer " + m, "warn", slog.LevelWarn},
			{"error " + m, "error", slog.LevelError},
			{"debug " + m + " { nested: true }", "debug", slog.LevelDebug},
		}
	})
	for _, m := range markers {
		// Raw stdout is logged too, a line at a time, without request id.
		testenv.Eventually(t, 5*time.Second, "raw stdout logged", func() bool {
			_, ok := rec.find(func(r record) bool {
				return r.Msg == "raw stdout "+m && r.Attrs["stream"] == "stdout" && r.Attrs["function"] == "logs"
			})
			return ok
		})
	}
}

// TestTimeoutBusyLoop: a call that blocks the event loop times out at its
// deadline; its process is killed, failing the call that shared it at once,
// and replaced, while other functions keep working throughout.
func TestTimeoutBusyLoop(t *testing.T) {
	t.Parallel()
	rt, rec := startFixtures(t, Config{}, "busy", "echo")
	oldPID := pidOf(t, rt, "busy")

	shared := make(chan error, 1)
	var sharedTook time.Duration
	go func() {
		start := time.Now()
		_, err := invoke(rt, "busy", 30*time.Second, map[string]string{"wait": "20000"})
		sharedTook = time.Since(start)
		shared <- err
	}()
	testenv.Eventually(t, 10*time.Second, "the waiting call runs in node", func() bool {
		_, ok := rec.find(func(r record) bool { return r.Msg == "waiting" && r.Attrs["function"] == "busy" })
		return ok
	})

	spin := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := invoke(rt, "busy", 700*time.Millisecond, map[string]string{"spin": "1"})
		spin <- err
	}()
	// Another function is served while busy's event loop is blocked.
	res, err := invoke(rt, "echo", 10*time.Second, map[string]string{"v": "free"})
	var e struct{ Value string }
	result(t, res, err, &e)
	if e.Value != "free" {
		t.Fatalf("echo during the busy loop: %+v", e)
	}

	err = <-spin
	took := time.Since(start)
	if errCode(err) != event.CodeTimeout {
		t.Fatalf("busy loop: err = %v, want %s", err, event.CodeTimeout)
	}
	t.Logf("busy loop timed out after %s (deadline 700ms)", took)
	if took < 600*time.Millisecond || took > slack {
		t.Fatalf("busy loop timed out after %s, want about 700ms", took)
	}
	err = <-shared
	if errCode(err) != event.CodeFunctionError || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("call sharing the killed process: err = %v, want %s", err, event.CodeFunctionError)
	}
	// Failed with the kill, not after its own 20s wait.
	if sharedTook > 15*time.Second {
		t.Fatalf("call sharing the killed process took %s", sharedTook)
	}
	if newPID := pidOf(t, rt, "busy"); newPID == oldPID {
		t.Fatalf("busy still served by pid %d", oldPID)
	}
	if alive(oldPID) {
		t.Fatalf("pid %d still running", oldPID)
	}
}

// TestTimeoutHang: a promise that never settles times out at its deadline,
// but the event loop stays free, so the process is kept: a call it was
// running meanwhile finishes after that deadline, and later calls succeed on
// the same process.
func TestTimeoutHang(t *testing.T) {
	t.Parallel()
	rt, rec := startFixtures(t, Config{}, "hang")
	oldPID := pidOf(t, rt, "hang")

	type done struct {
		pid int
		err error
		at  time.Time
	}
	slow := make(chan done, 1)
	go func() {
		var r struct{ PID int }
		res, err := invoke(rt, "hang", 20*time.Second, map[string]string{"wait": "1500"})
		if err == nil {
			err = json.Unmarshal(res.(json.RawMessage), &r)
		}
		slow <- done{r.PID, err, time.Now()}
	}()
	testenv.Eventually(t, 10*time.Second, "the slow call runs in node", func() bool {
		_, ok := rec.find(func(r record) bool { return r.Msg == "waiting 1500" })
		return ok
	})

	start := time.Now()
	rid, _, err := invokeEvent(rt, "hang", 300*time.Millisecond, map[string]string{"hang": "1"})
	timedOut := time.Now()
	if errCode(err) != event.CodeTimeout {
		t.Fatalf("err = %v, want %s", err, event.CodeTimeout)
	}
	took := timedOut.Sub(start)
	t.Logf("timed out after %s (deadline 300ms)", took)
	if took < 300*time.Millisecond || took > slack {
		t.Fatalf("timed out after %s, want about 300ms", took)
	}

	s := <-slow // bounded by its 20s deadline
	if s.err != nil {
		t.Fatalf("call sharing the process: %v", s.err)
	}
	if s.pid != oldPID {
		t.Fatalf("slow call answered by pid %d, want %d", s.pid, oldPID)
	}
	if !s.at.After(timedOut) {
		t.Fatalf("slow call finished at %s, before the hang timed out at %s", s.at, timedOut)
	}
	testenv.Eventually(t, 5*time.Second, "the abandoned call logged", func() bool {
		_, ok := rec.find(func(r record) bool {
			return r.Level == slog.LevelWarn && r.Msg == verdictAlive && r.Attrs["request_id"] == rid && r.Attrs["function"] == "hang"
		})
		return ok
	})
	if pid := pidOf(t, rt, "hang"); pid != oldPID {
		t.Fatalf("hang now served by pid %d, want %d kept", pid, oldPID)
	}
	if n := starts(rt, "hang"); n != 1 {
		t.Fatalf("%d processes started, want 1", n)
	}
	if r, ok := rec.find(func(r record) bool { return r.Msg == "node process killed" }); ok {
		t.Fatalf("process killed: %v", r.Attrs)
	}
}

// TestTimeoutHangMany: never-settling calls that time out together on one
// process are all answered with a timeout and logged, one probe at a time,
// and the process is kept.
func TestTimeoutHangMany(t *testing.T) {
	t.Parallel()
	rt, rec, p, oldPID := startAlone(t, "hang")
	const n = 8
	rids := timeOutTogether(t, rt, "hang", n, 400*time.Millisecond, map[string]string{"hang": "1"})
	for _, rid := range rids {
		testenv.Eventually(t, 5*time.Second, "abandoned call "+rid+" logged", func() bool {
			_, ok := rec.find(func(r record) bool { return r.Msg == verdictAlive && r.Attrs["request_id"] == rid })
			return ok
		})
	}
	if probes := probes(rt, p); probes < 1 || probes > n {
		t.Fatalf("%d probes for %d timeouts", probes, n)
	}
	t.Logf("%d timeouts, %d probes", n, probes(rt, p))
	if pid := pidOf(t, rt, "hang"); pid != oldPID {
		t.Fatalf("hang now served by pid %d, want %d kept", pid, oldPID)
	}
	if n := starts(rt, "hang"); n != 1 {
		t.Fatalf("%d processes started, want 1", n)
	}
}

// TestAbandonedResultsDropped: a call whose deadline passes or whose caller
// gives up goes on running in node, but the bootstrap, told to cancel it,
// drops its result.
func TestAbandonedResultsDropped(t *testing.T) {
	t.Parallel()
	rt, rec := startFixtures(t, Config{}, "hang")
	p := rt.fns["hang"].current(0)
	h := rt.Handler("hang").(worker.RawHandler)

	_, _, err := invokeEvent(rt, "hang", 300*time.Millisecond, map[string]string{"wait": "1000"})
	if errCode(err) != event.CodeTimeout {
		t.Fatalf("err = %v, want %s", err, event.CodeTimeout)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelled := make(chan error, 1)
	go func() {
		_, err := h.InvokeRaw(ctx, newEvent("hang", map[string]string{"wait": "1001"}, "").AppendJSON(nil))
		cancelled <- err
	}()
	testenv.Eventually(t, 10*time.Second, "the call to cancel runs in node", func() bool {
		_, ok := rec.find(func(r record) bool { return r.Msg == "waiting 1001" })
		return ok
	})
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: err = %v, want %v", err, context.Canceled)
	}

	for _, m := range []string{"done 1000", "done 1001"} {
		testenv.Eventually(t, 10*time.Second, "abandoned call still running: "+m, func() bool {
			_, ok := rec.find(func(r record) bool { return r.Msg == m })
			return ok
		})
	}
	// Node writes frames in order: once this call's result is read, any
	// result the abandoned calls sent was read before it.
	pidOf(t, rt, "hang")
	if r, ok := rec.find(func(r record) bool { return r.Msg == "result of an abandoned invocation dropped" }); ok {
		t.Fatalf("node sent the result of a cancelled call: %v", r.Attrs)
	}
	wantProbesStarts(t, rt, p, 1, 1) // the one probe is for the timeout
}

// TestTimeoutBusyLoopMany: calls that time out together on a process whose
// event loop is blocked cost one probe and one kill.
func TestTimeoutBusyLoopMany(t *testing.T) {
	t.Parallel()
	rt, rec, p, oldPID := startAlone(t, "busy")
	const n = 4
	start := time.Now()
	timeOutTogether(t, rt, "busy", n, 700*time.Millisecond, map[string]string{"spin": "1"})
	took := time.Since(start)
	t.Logf("calls timed out after %s (deadline 700ms)", took)
	if took > slack {
		t.Fatalf("calls timed out after %s, want about 700ms", took)
	}
	if newPID := pidOf(t, rt, "busy"); newPID == oldPID {
		t.Fatalf("busy still served by pid %d", oldPID)
	}
	testenv.Eventually(t, 5*time.Second, "every timeout logged", func() bool {
		return rec.count(func(r record) bool { return r.Msg == verdictBlocked && r.Attrs["pid"] == strconv.Itoa(oldPID) }) == n
	})
	if k := rec.count(func(r record) bool { return r.Msg == "node process killed" }); k != 1 {
		t.Fatalf("%d kills logged, want 1", k)
	}
	wantProbesStarts(t, rt, p, 1, 2)
}

// TestProcessExit: process.exit in one call fails every call on the process
// at once; the process is replaced and the next call succeeds.
func TestProcessExit(t *testing.T) {
	t.Parallel()
	rt, rec := startFixtures(t, Config{}, "exit")
	oldPID := pidOf(t, rt, "exit")
	waiting := make(chan error, 1)
	go func() {
		_, err := invoke(rt, "exit", 30*time.Second, map[string]string{"wait": "20000"})
		waiting <- err
	}()
	testenv.Eventually(t, 10*time.Second, "the waiting call runs in node", func() bool {
		_, ok := rec.find(func(r record) bool { return r.Msg == "waiting" })
		return ok
	})
	start := time.Now()
	_, err := invoke(rt, "exit", 30*time.Second, map[string]string{"exit": "1"})
	if errCode(err) != event.CodeFunctionError || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("exiting call: err = %v, want %s with the exit status", err, event.CodeFunctionError)
	}
	err = <-waiting
	if errCode(err) != event.CodeFunctionError {
		t.Fatalf("call in flight: err = %v, want %s", err, event.CodeFunctionError)
	}
	// At once: not after the waiting call's own 20s.
	took := time.Since(start)
	t.Logf("calls failed %s after the exit", took)
	if took > 15*time.Second {
		t.Fatalf("calls failed after %s, want at once", took)
	}
	if newPID := pidOf(t, rt, "exit"); newPID == oldPID {
		t.Fatalf("exit still served by pid %d", oldPID)
	}
	if _, ok := rec.find(func(r record) bool { return r.Msg == "node process exited" && r.Attrs["failed_invocations"] == "2" }); !ok {
		t.Fatal("exit not logged with its failed invocations")
	}
}

// TestLoadErrors: a function that does not load answers every call with
// FUNCTION_LOAD_ERROR at once, keeps its process, and is served once fixed.
func TestLoadErrors(t *testing.T) {
	t.Parallel()
	rt, rec := startFixtures(t, Config{ReloadInterval: 20 * time.Millisecond}, "syntax-error", "no-main", "plain")
	for fn, want := range map[string]string{"syntax-error": "SyntaxError", "no-main": "does not export a main function"} {
		r, ok := rec.find(func(r record) bool { return r.Msg == "function failed to load" && r.Attrs["function"] == fn })
		if !ok {
			t.Fatalf("%s: load error not logged", fn)
		}
		if !strings.Contains(r.Attrs["err"]+r.Attrs["stack"], want) {
			t.Fatalf("%s: logged %v, want %q", fn, r.Attrs, want)
		}
		for range 5 {
			start := time.Now()
			_, err := invoke(rt, fn, 10*time.Second, nil)
			if errCode(err) != event.CodeLoadError {
				t.Fatalf("%s: err = %v, want %s", fn, err, event.CodeLoadError)
			}
			if took := time.Since(start); took > slack {
				t.Fatalf("%s: load error after %s, want at once", fn, took)
			}
		}
		if n := starts(rt, fn); n != 1 {
			t.Fatalf("%s: %d processes started, want 1 (no crash loop)", fn, n)
		}
	}

	// Fix the syntax error: the reload serves the function.
	fixed, err := os.ReadFile(filepath.Join(fixtures, "plain", "index.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rt.cfg.Dir, "syntax-error", "index.js"), fixed, 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "fixed function served", func() bool {
		res, err := invoke(rt, "syntax-error", 10*time.Second, nil)
		return err == nil && strings.Contains(string(res.(json.RawMessage)), `"style":"plain"`)
	})
}

// TestStartFailureBackoff: a function whose process exits while loading is
// restarted with growing delays, and calls fail at once meanwhile.
func TestStartFailureBackoff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFunction(t, dir, "dies", "process.exit(1);\n")
	rt, rec := start(t, Config{}, dir)
	start := time.Now()
	_, err := invoke(rt, "dies", 10*time.Second, nil)
	if errCode(err) != event.CodeLoadError || time.Since(start) > slack {
		t.Fatalf("err = %v after %s, want %s at once", err, time.Since(start), event.CodeLoadError)
	}
	const restarts = 3
	testenv.Eventually(t, 30*time.Second, "restarts", func() bool { return starts(rt, "dies") > restarts })
	// The gap from a process's death to its replacement's start is the
	// backoff delay: intervals of restartInitial growing by 1.5, each
	// randomized by ±50%, so at least 50, 75, 112ms. Load only lengthens a
	// gap; without backoff it is the time to fork.
	s := spawns(rt, "dies")
	least := restartInitial / 2
	for k := 1; k <= restarts; k++ {
		died, ok := rec.find(func(r record) bool {
			return r.Msg == "node process exited" && r.Attrs["pid"] == strconv.Itoa(s[k-1].pid)
		})
		if !ok {
			t.Fatalf("death of process %d not logged", s[k-1].pid)
		}
		gap := s[k].at.Sub(died.Time)
		t.Logf("restart %d after %s", k, gap)
		if gap < least {
			t.Fatalf("restart %d came %s after the process died, want a backoff of at least %s", k, gap, least)
		}
		least = least * 3 / 2
	}
	if _, ok := rec.find(func(r record) bool { return r.Msg == "restarting node process after backoff" }); !ok {
		t.Fatal("backoff not logged")
	}
}

func writeFunction(t testing.TB, dir, name, code string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, "index.js"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReload: edits to index.js and to a module it requires are served by
// new calls without a restart, while a call already running finishes on the
// old code.
func TestReload(t *testing.T) {
	t.Parallel()
	dir := copyFunctions(t, "require-local")
	version := func(v int) string {
		return fmt.Sprintf(`const helper = require('./helper');
exports.main = async (event) => {
  const q = event.queryStringParameters || {};
  if (q.release) globalThis.release = true;
  if (q.wait) {
    console.log('waiting', %d);
    while (!globalThis.release) await new Promise((r) => setTimeout(r, 5));
  }
  return { version: %d, helper: helper() };
};
`, v, v)
	}
	writeFunction(t, dir, "live", version(1))
	writeHelper := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "live", "helper.js"), []byte("module.exports = () => '"+s+"';\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeHelper("h1")
	rt, rec := start(t, Config{ReloadInterval: 20 * time.Millisecond}, dir)
	pid := rt.fns["live"].current(0).pid

	type live struct {
		Version int
		Helper  string
	}
	call := func(q map[string]string) (live, error) {
		var l live
		res, err := invoke(rt, "live", 20*time.Second, q)
		if err == nil {
			err = json.Unmarshal(res.(json.RawMessage), &l)
		}
		return l, err
	}
	if l, err := call(nil); err != nil || l != (live{1, "h1"}) {
		t.Fatalf("before edit: %+v, %v", l, err)
	}

	inflight := make(chan live, 1)
	go func() {
		l, err := call(map[string]string{"wait": "1"})
		if err != nil {
			t.Errorf("in-flight call: %v", err)
		}
		inflight <- l
	}()
	testenv.Eventually(t, 10*time.Second, "in-flight call waiting", func() bool {
		_, ok := rec.find(func(r record) bool { return r.Msg == "waiting 1" })
		return ok
	})

	writeFunction(t, dir, "live", version(2))
	testenv.Eventually(t, 10*time.Second, "version 2 served", func() bool {
		l, err := call(nil)
		return err == nil && l.Version == 2
	})
	writeHelper("h2")
	testenv.Eventually(t, 10*time.Second, "edited helper served", func() bool {
		l, err := call(nil)
		return err == nil && l == (live{2, "h2"})
	})
	if l, err := call(map[string]string{"release": "1"}); err != nil || l.Version != 2 {
		t.Fatalf("release: %+v, %v", l, err)
	}
	if l := <-inflight; l.Version != 1 {
		t.Fatalf("in-flight call finished as %+v, want version 1", l)
	}
	if p := rt.fns["live"].current(0); p == nil || p.pid != pid || starts(rt, "live") != 1 {
		t.Fatal("the process was restarted; want a reload in place")
	}
	if _, ok := rec.find(func(r record) bool { return r.Msg == "function reloaded" && r.Attrs["function"] == "live" }); !ok {
		t.Fatal("reload not logged")
	}
	// The unchanged function was not reloaded.
	if _, ok := rec.find(func(r record) bool {
		return r.Msg == "function changed, reloading" && r.Attrs["function"] == "require-local"
	}); ok {
		t.Fatal("unchanged function reloaded")
	}
}

// TestConcurrent: 200 calls at once to one process all get their own answer.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	rt, _ := startFixtures(t, Config{}, "echo")
	h := rt.Handler("echo").(worker.RawHandler)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			v := fmt.Sprintf("v%d", i)
			ev := newEvent("echo", map[string]string{"v": v}, strings.Repeat(v, i))
			res, err := h.InvokeRaw(ctx, ev.AppendJSON(nil))
			if err != nil {
				t.Errorf("call %d: %v", i, err)
				return
			}
			var got struct{ Value, Body, RequestID string }
			if err := json.Unmarshal(res.(json.RawMessage), &got); err != nil {
				t.Errorf("call %d: %v", i, err)
				return
			}
			if got.Value != v || got.Body != ev.Body || got.RequestID != ev.RequestContext.RequestID {
				t.Errorf("call %d got %s/%s, want %s/%s", i, got.Value, got.RequestID, v, ev.RequestContext.RequestID)
			}
		})
	}
	wg.Wait()
	if n := starts(rt, "echo"); n != 1 {
		t.Fatalf("%d processes started, want 1", n)
	}
}

// TestProcs: calls are spread over the processes of a pool.
func TestProcs(t *testing.T) {
	t.Parallel()
	rt, _ := startFixtures(t, Config{Procs: 3}, "busy")
	var mu sync.Mutex
	pids := map[int]bool{}
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			var r struct{ PID int }
			res, err := invoke(rt, "busy", 20*time.Second, map[string]string{"wait": "100"})
			if err != nil {
				t.Error(err)
				return
			}
			_ = json.Unmarshal(res.(json.RawMessage), &r)
			mu.Lock()
			pids[r.PID] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(pids) != 3 {
		t.Fatalf("calls served by %d processes, want 3", len(pids))
	}
}

// TestClose: Close kills the processes and what they started; calls after
// Close fail at once.
func TestClose(t *testing.T) {
	t.Parallel()
	rt, _ := startFixtures(t, Config{}, "spawn-child", "plain")
	var r struct{ PID int }
	res, err := invoke(rt, "spawn-child", 10*time.Second, nil)
	result(t, res, err, &r)
	if !alive(r.PID) {
		t.Fatalf("child %d not running", r.PID)
	}
	var procs []*proc
	for _, f := range rt.fns {
		for i := range rt.cfg.Procs {
			procs = append(procs, f.current(i))
		}
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		select {
		case <-p.dead:
		default:
			t.Fatalf("process %d not waited for", p.pid)
		}
		if alive(p.pid) {
			t.Fatalf("process %d alive after Close", p.pid)
		}
	}
	testenv.Eventually(t, 5*time.Second, "grandchild killed", func() bool { return !alive(r.PID) })
	_, err = invoke(rt, "plain", 10*time.Second, nil)
	if errCode(err) != event.CodeFunctionError {
		t.Fatalf("after Close: err = %v", err)
	}
}

func BenchmarkInvokeRaw(b *testing.B) {
	rt, _ := start(b, Config{Logger: slog.New(slog.DiscardHandler)}, copyFunctions(b, "plain"))
	h := rt.Handler("plain").(worker.RawHandler)
	ev := newEvent("plain", map[string]string{"name": "bench"}, "").AppendJSON(nil)
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for b.Loop() {
			if _, err := h.InvokeRaw(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for pb.Next() {
				if _, err := h.InvokeRaw(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// TestLoadTimeout: top-level code that never finishes loading gets its
// process killed, and calls fail at once rather than wait for it.
func TestLoadTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFunction(t, dir, "stuck", "for (;;) {}\n")
	rt, rec := start(t, Config{hooks: &hooks{loadTimeout: 300 * time.Millisecond}}, dir)
	start := time.Now()
	_, err := invoke(rt, "stuck", 10*time.Second, nil)
	if errCode(err) != event.CodeLoadError || time.Since(start) > slack {
		t.Fatalf("err = %v after %s, want %s at once", err, time.Since(start), event.CodeLoadError)
	}
	r, ok := rec.find(func(r record) bool { return r.Msg == "node process killed" })
	if !ok || !strings.Contains(r.Attrs["reason"], "did not load within 300ms") {
		t.Fatalf("kill not logged: %+v", r)
	}
}

// TestLargeEvent: an event far larger than a pipe buffer arrives whole, and
// so does a result as large.
func TestLargeEvent(t *testing.T) {
	t.Parallel()
	rt, _ := startFixtures(t, Config{}, "echo")
	var sb strings.Builder
	for i := 0; sb.Len() < 1<<20; i++ {
		fmt.Fprintf(&sb, "%d,", i)
	}
	ev := newEvent("echo", nil, sb.String())
	res, err := call(rt, "echo", ev, 30*time.Second)
	var got struct{ Body string }
	result(t, res, err, &got)
	if got.Body != ev.Body {
		t.Fatalf("body of %d bytes came back as %d bytes", len(ev.Body), len(got.Body))
	}
}
