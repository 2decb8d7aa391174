package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
)

// TestESModules: index.mjs and an index.js under "type": "module" load as
// ES modules, and an edit of the entry is served without a restart.
func TestESModules(t *testing.T) {
	t.Parallel()
	rt, _ := start(t, Config{ReloadInterval: 20 * time.Millisecond}, copyFunctions(t, "esm-mjs", "esm-type"))
	get := func(fn string) map[string]any {
		t.Helper()
		res, err := invoke(rt, fn, 10*time.Second, nil)
		var m map[string]any
		result(t, res, err, &m)
		return m
	}
	if m := get("esm-mjs"); m["style"] != "mjs" || m["greeting"] != "hello" || m["fn"] != "esm-mjs" {
		t.Fatalf("esm-mjs: %v", m)
	}
	if m := get("esm-type"); m["style"] != "type-module" || m["base"] != "index.js" {
		t.Fatalf("esm-type: %v", m)
	}
	if got := rt.Handler("esm-mjs").(worker.RuntimeNamer).RuntimeName(); got != RuntimeNode {
		t.Fatalf("runtime label %q", got)
	}
	entry := filepath.Join(rt.cfg.Dir, "esm-mjs", "index.mjs")
	if err := os.WriteFile(entry, []byte("export const main = () => ({ style: 'mjs', version: 2 });\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "edited ES module served", func() bool {
		res, err := invoke(rt, "esm-mjs", 10*time.Second, nil)
		var m map[string]any
		return err == nil && json.Unmarshal(res.(json.RawMessage), &m) == nil && m["version"] == float64(2)
	})
	if starts(rt, "esm-mjs") != 1 {
		t.Fatal("the process was restarted; want a reload in place")
	}
}

// TestPinnedRuntime: a function's fngate.json chooses its runtime over the
// file present, and an unknown runtime is a load error.
func TestPinnedRuntime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	both := filepath.Join(dir, "both")
	bad := filepath.Join(dir, "bad")
	for file, data := range map[string]string{
		filepath.Join(both, "index.js"): "exports.main = () => 'node';\n",
		filepath.Join(both, "index.py"): "def main(event, context):\n    return 'python'\n",
		filepath.Join(both, ConfigFile): `{"runtime": "python"}`,
		filepath.Join(bad, "index.js"):  "exports.main = () => 'node';\n",
		filepath.Join(bad, ConfigFile):  `{"runtime": "cobol"}`,
	} {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rt, _ := start(t, Config{}, dir)
	res, err := invoke(rt, "both", 10*time.Second, nil)
	if err != nil || string(res.(json.RawMessage)) != `"python"` {
		t.Fatalf("both: %s, %v", res, err)
	}
	if got := rt.Handler("both").(worker.RuntimeNamer).RuntimeName(); got != RuntimePython {
		t.Fatalf("runtime label %q, want python", got)
	}
	if _, err := invoke(rt, "bad", 10*time.Second, nil); errCode(err) != "FUNCTION_LOAD_ERROR" {
		t.Fatalf("bad runtime: %v", err)
	}
}
