package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/testenv"
)

// startPython copies the named Python fixtures and starts a Runtime on them.
func startPython(t *testing.T, cfg Config, names ...string) (*Runtime, *recorder) {
	t.Helper()
	return start(t, cfg, copyFrom(t, fixturesPython, names...))
}

// TestPythonLogs: print, logging and sys.stderr are logged with the request
// id of the call that wrote them, also across awaits of concurrent calls.
func TestPythonLogs(t *testing.T) {
	t.Parallel()
	rt, rec := startPython(t, Config{}, "logs", "throw")
	checkCapture(t, rt, rec, "logs", func(m string) []logWant {
		return []logWant{
			{"start " + m, "log", slog.LevelInfo},
			{"root: after await " + m, "info", slog.LevelInfo},
			{"root: warn " + m, "warn", slog.LevelWarn},
			{"error " + m, "error", slog.LevelError},
		}
	})
	// A raise is logged with its traceback and request id.
	_, err := invoke(rt, "throw", 10*time.Second, nil)
	if errCode(err) != event.CodeFunctionError {
		t.Fatalf("throw: %v", err)
	}
	r, ok := rec.find(func(r record) bool { return r.Msg == "function threw" && r.Attrs["function"] == "throw" })
	if !ok || r.Attrs["err"] != "boom: secret detail" || !strings.Contains(r.Attrs["stack"], "index.py") || !strings.HasPrefix(r.Attrs["request_id"], "req-") {
		t.Fatalf("throw logged %+v", r.Attrs)
	}
}

// TestPythonReload: an edit of index.py and of a module it imports is
// served without a restart; a syntax error is a load error that neither
// restarts the process nor stops the fix from being picked up.
func TestPythonReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(file, code string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "live"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "live", file), []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	version := func(v int) string {
		return fmt.Sprintf("import helper\n\n\ndef main(event, context):\n    return {\"version\": %d, \"helper\": helper.value()}\n", v)
	}
	write("helper.py", "def value():\n    return 'h1'\n")
	write("index.py", version(1))
	rt, rec := start(t, Config{ReloadInterval: 20 * time.Millisecond}, dir)
	pid := rt.fns["live"].current(0).pid
	type live struct {
		Version int
		Helper  string
	}
	get := func() (live, error) {
		var l live
		res, err := invoke(rt, "live", 10*time.Second, nil)
		if err == nil {
			err = json.Unmarshal(res.(json.RawMessage), &l)
		}
		return l, err
	}
	if l, err := get(); err != nil || l != (live{1, "h1"}) {
		t.Fatalf("before edit: %+v, %v", l, err)
	}
	write("index.py", version(2))
	write("helper.py", "def value():\n    return 'h2'\n")
	testenv.Eventually(t, 10*time.Second, "version 2 and its helper served", func() bool {
		l, err := get()
		return err == nil && l == (live{2, "h2"})
	})
	write("index.py", "def main(event, context):\n    return {\"broken\": }\n")
	testenv.Eventually(t, 10*time.Second, "syntax error is a load error", func() bool {
		_, err := get()
		return errCode(err) == event.CodeLoadError
	})
	write("index.py", version(3))
	testenv.Eventually(t, 10*time.Second, "the fix served", func() bool {
		l, err := get()
		return err == nil && l.Version == 3
	})
	if p := rt.fns["live"].current(0); p == nil || p.pid != pid || starts(rt, "live") != 1 {
		t.Fatal("the process was restarted; want reloads in place")
	}
	if _, ok := rec.find(func(r record) bool { return r.Msg == "function failed to load" && r.Attrs["function"] == "live" }); !ok {
		t.Fatal("load error not logged")
	}
}

// TestPythonLoadError: a function that does not load answers
// FUNCTION_LOAD_ERROR at once, from a process that keeps running (no crash
// loop).
func TestPythonLoadError(t *testing.T) {
	t.Parallel()
	rt, _ := startPython(t, Config{}, "syntax-error", "no-main")
	for _, fn := range []string{"syntax-error", "no-main"} {
		for range 3 {
			if _, err := invoke(rt, fn, 10*time.Second, nil); errCode(err) != event.CodeLoadError {
				t.Fatalf("%s: %v, want %s", fn, err, event.CodeLoadError)
			}
		}
		if n := starts(rt, fn); n != 1 {
			t.Fatalf("%s: %d processes started, want 1", fn, n)
		}
	}
}

// TestPythonNotFound: a Python function and no python3 is refused at New,
// saying what to install.
func TestPythonNotFound(t *testing.T) {
	t.Parallel()
	_, err := New(context.Background(), Config{Dir: copyFrom(t, fixturesPython, "throw"), Python: filepath.Join(t.TempDir(), "no-python")})
	if err == nil || !strings.Contains(err.Error(), "python not found: install Python 3.9+ (apt-get install python3)") {
		t.Fatalf("err = %v", err)
	}
}
