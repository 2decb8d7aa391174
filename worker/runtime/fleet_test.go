package runtime

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/testenv"
)

// writeFleet writes n trivial Node.js functions, fn-0000 ..., into a new
// directory.
func writeFleet(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		name := fmt.Sprintf("fn-%04d", i)
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		code := "exports.main = async () => ({ name: '" + name + "', pid: process.pid });\n"
		if err := os.WriteFile(filepath.Join(dir, name, "index.js"), []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// liveProcs counts the processes rt started that still run.
func liveProcs(rt *Runtime) int {
	n := 0
	for _, pid := range started(rt) {
		if alive(pid) {
			n++
		}
	}
	return n
}

// rssKB reads VmRSS of process pid from /proc.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0 // gone
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}

// TestFleet: a thousand Node.js functions on one runtime. It serves at once
// (no process starts before a call), every sampled function answers, calls
// arriving during a cold start share it, fifty functions hot under load never
// have more than MaxProcs processes, and after the idle timeout no process
// is left and the worker holds little memory.
//
// Not parallel: the RSS read is the whole test binary's, so it runs alone.
func TestFleet(t *testing.T) {
	const n, maxProcs = 1000, 20
	dir := writeFleet(t, n)
	begun := time.Now()
	rt, rec := startLazy(t, Config{IdleTimeout: 300 * time.Millisecond, MaxProcs: maxProcs}, dir)
	t.Logf("figure: %d functions served %s after New was called", n, time.Since(begun).Round(time.Millisecond))
	if len(rt.Functions()) != n || len(started(rt)) != 0 {
		t.Fatalf("%d functions, %d processes started at New; want %d, 0", len(rt.Functions()), len(started(rt)), n)
	}
	answers := func(fn string) error {
		res, err := invoke(rt, fn, 60*time.Second, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
		if !strings.Contains(string(res.(json.RawMessage)), `"name":"`+fn+`"`) {
			return fmt.Errorf("%s answered %s", fn, res)
		}
		return nil
	}

	// Calls arriving during a cold start wait for it: one process.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if err := answers("fn-0500"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if s := starts(rt, "fn-0500"); s != 1 {
		t.Fatalf("5 calls during a cold start started %d processes, want 1", s)
	}

	// Every function answers: a sample of 40 spread over the folder.
	for i := 0; i < n; i += n / 40 {
		wg.Go(func() {
			if err := answers(fmt.Sprintf("fn-%04d", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	// Fifty functions hot under load: never more than maxProcs processes.
	var most atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if k := int64(liveProcs(rt)); k > most.Load() {
				most.Store(k)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	hotStart := time.Now()
	for i := range 50 {
		wg.Go(func() {
			if err := answers(fmt.Sprintf("fn-%04d", 100+i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	t.Logf("figure: 50 concurrent calls to 50 functions under MaxProcs %d took %s; at most %d processes seen", maxProcs, time.Since(hotStart).Round(time.Millisecond), most.Load())
	if m := most.Load(); m > maxProcs {
		t.Fatalf("%d processes at once, want at most MaxProcs %d", m, maxProcs)
	}

	// After the idle timeout every process is gone.
	testenv.Eventually(t, 30*time.Second, "every process stopped after the idle timeout", func() bool {
		return liveProcs(rt) == 0
	})
	debug.FreeOSMemory() // what the Go heap no longer uses
	total := rssKB(t, os.Getpid())
	t.Logf("figure: after the idle timeout the worker (this test binary) holds %d MB RSS, its children none; %d processes were started", total>>10, len(started(rt)))
	if total > 300<<10 {
		t.Fatalf("worker holds %d MB RSS after the idle timeout, want under 300 MB", total>>10)
	}
	if _, ok := rec.find(func(r record) bool { return r.Msg == "function cold start" && r.Attrs["runtime"] == RuntimeNode }); !ok {
		t.Fatal("cold start not logged")
	}
	if _, ok := rec.find(func(r record) bool { return r.Msg == "function stopped" && r.Attrs["reason"] == "evicted" }); !ok {
		t.Fatal("no eviction logged")
	}
}

// TestColdStartLoadError: a function that does not load answers
// FUNCTION_LOAD_ERROR on its first call, without waiting for its deadline,
// and OnColdStart hears of the cold starts.
func TestColdStartLoadError(t *testing.T) {
	t.Parallel()
	var colds atomic.Int32
	rt, _ := startLazy(t, Config{OnColdStart: func(fn, lang string, d time.Duration) {
		if fn == "plain" && lang == RuntimeNode && d > 0 {
			colds.Add(1)
		}
	}}, copyFunctions(t, "syntax-error", "plain"))
	begun := time.Now()
	_, err := invoke(rt, "syntax-error", 30*time.Second, nil)
	if errCode(err) != event.CodeLoadError {
		t.Fatalf("first call: %v, want %s", err, event.CodeLoadError)
	}
	t.Logf("figure: load error answered %s after the first call", time.Since(begun).Round(time.Millisecond))
	if _, err := invoke(rt, "plain", 20*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if colds.Load() != 1 {
		t.Fatalf("OnColdStart called %d times for plain, want 1", colds.Load())
	}
}
