package runtime

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
)

// TestFoldersComeAndGo: over HTTP, a function folder added while the worker
// serves is served, an edited one reloaded, and a removed one drained (its
// call in flight finishes) and no longer served, all without a restart.
func TestFoldersComeAndGo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code := func(name string, v int) string {
		return "exports.main = async (event) => {\n" +
			"  if (event.queryStringParameters?.wait) await new Promise((r) => setTimeout(r, 1500));\n" +
			"  return { fn: '" + name + "', v: " + string(rune('0'+v)) + " };\n};\n"
	}
	// put writes a function folder beside dir and renames it in: whole.
	put := func(name string, v int) {
		t.Helper()
		tmp, err := os.MkdirTemp(filepath.Dir(dir), "new-")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "index.js"), []byte(code(name, v)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	put("first", 1)
	rt, _ := startLazy(t, Config{ReloadInterval: 50 * time.Millisecond, Logger: gt.Logger(t)}, dir)
	stack := gt.New(t,
		route.Route{Domain: "*", Path: "/first", Function: "first"},
		route.Route{Domain: "*", Path: "/second", Function: "second"},
	)
	w := stack.Worker(worker.Config{}, nil)
	if err := rt.Follow(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	gw := stack.Gateway(gateway.Config{})
	serves := func(path, fn string, v int) func() bool {
		return func() bool {
			r := gt.Get(t, gw.URL+path)
			var b struct {
				Fn string
				V  int
			}
			return r.Status == 200 && json.Unmarshal(r.Body, &b) == nil && b.Fn == fn && b.V == v
		}
	}
	testenv.Eventually(t, 10*time.Second, "first served", serves("/first", "first", 1))

	added := time.Now()
	put("second", 1)
	testenv.Eventually(t, 10*time.Second, "added folder served", serves("/second", "second", 1))
	t.Logf("figure: added folder served %s after it appeared", time.Since(added).Round(time.Millisecond))

	changed := time.Now()
	if err := os.WriteFile(filepath.Join(dir, "second", "index.js"), []byte(code("second", 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "edited folder reloaded", serves("/second", "second", 2))
	t.Logf("figure: edit served %s after it was written", time.Since(changed).Round(time.Millisecond))

	// A call in flight when its folder goes finishes; then the function is
	// no longer served.
	var wg sync.WaitGroup
	var inflight *gt.Response
	wg.Go(func() { inflight = gt.Get(t, gw.URL+"/first?wait=1") })
	testenv.Eventually(t, 10*time.Second, "call in flight", func() bool { return w.InFlight("first") == 1 })
	removed := time.Now()
	if err := os.RemoveAll(filepath.Join(dir, "first")); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if inflight.Status != 200 {
		t.Fatalf("call in flight during the removal: %d %s", inflight.Status, inflight.Body)
	}
	testenv.Eventually(t, 10*time.Second, "removed folder drained from the worker", func() bool {
		return !slices.Contains(w.Functions(), "first")
	})
	t.Logf("figure: removed folder drained %s after it went", time.Since(removed).Round(time.Millisecond))
	if r := gt.Get(t, gw.URL+"/first"); r.Status == 200 {
		t.Fatalf("removed folder still served: %s", r.Body)
	}
	testenv.Eventually(t, 10*time.Second, "its processes stopped", func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return rt.fns["first"] == nil && rt.live == rt.cfg.Procs // second's only
	})
	if !serves("/second", "second", 2)() {
		t.Fatal("the other function stopped serving")
	}
}
