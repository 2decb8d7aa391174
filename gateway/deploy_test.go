package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/gateway/adminapi"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/codestore/codetest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/deploy/deploytest"
)

// deployStack is a gateway with the code store and its admin URL.
type deployStack struct {
	*gt.Stack
	gw *gt.Gateway
}

func newDeployStack(t *testing.T, routes ...route.Route) *deployStack {
	s := gt.New(t, routes...)
	s.Code = true
	return &deployStack{Stack: s, gw: s.Gateway(gateway.Config{MaxCodeBytes: 1 << 20, MaxCodeUnpackedBytes: 4 << 20})}
}

// worker starts a worker serving the deployed functions (those fns
// matches, all when empty) from an empty folder of its own.
func (s *deployStack) worker(t *testing.T, fns ...string) *worker.Worker {
	t.Helper()
	return deploytest.Worker(t, s.Stack, worker.Config{Functions: fns})
}

// put deploys archive as function name's next version.
func (s *deployStack) put(t *testing.T, name string, archive []byte) *gt.Response {
	t.Helper()
	return gt.Do(t, http.MethodPut, s.gw.AdminURL+"/admin/functions/"+name+"/code", "", http.Header{"Content-Type": {"application/gzip"}}, archive)
}

// detail is GET /admin/functions/<name>.
func (s *deployStack) detail(t *testing.T, name string) adminapi.FunctionDetail {
	t.Helper()
	var d adminapi.FunctionDetail
	r := gt.Get(t, s.gw.AdminURL+"/admin/functions/"+name)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /admin/functions/%s: %d %s", name, r.Status, r.Body)
	}
	r.JSON(t, &d)
	return d
}

// runs reports whether workers live workers report running version v of
// name (and, with failed, that version failed to load).
func (s *deployStack) runs(t *testing.T, name string, workers int, v, failed int64) func() bool {
	return func() bool {
		d := s.detail(t, name)
		n := 0
		for _, w := range d.Workers {
			if w.Version == v && w.Failed == failed && (failed == 0) == (w.LoadError == "") {
				n++
			}
		}
		return n == workers && len(d.Workers) == workers
	}
}

// answer calls path and returns the version of the code that answered, or
// an error.
func answer(url string) (int, error) {
	r, err := gt.Try(http.MethodGet, url, "", nil, nil)
	if err != nil {
		return 0, err
	}
	var b struct{ V int }
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &b) != nil {
		return 0, fmt.Errorf("%d %s", r.Status, r.Body)
	}
	return b.V, nil
}

// version is a function's code at version v; slow makes each call take
// 50 ms (so that calls are in flight when a version replaces it).
func version(v int, slow bool) []byte {
	wait := ""
	if slow {
		wait = "  await new Promise((r) => setTimeout(r, 50));\n"
	}
	return codetest.TarGz(
		codetest.File("index.js", "const { v } = require('./lib/v');\nexports.main = async () => {\n"+wait+"  return { v };\n};\n"),
		codetest.File("lib/v.js", fmt.Sprintf("exports.v = %d;\n", v)),
	)
}

// TestDeploy: two workers with empty folders of their own serve a function
// deployed through the admin API; a second version replaces it under load
// with no failed call; a version that does not load leaves the one before
// serving and shows its load error; a rollback serves the first again.
func TestDeploy(t *testing.T) {
	t.Parallel()
	s := newDeployStack(t, route.Route{Domain: "*", Path: "/hello", Function: "hello"})
	s.worker(t)
	s.worker(t)
	url := s.gw.URL + "/hello"

	deployed := time.Now()
	r := s.put(t, "hello", version(1, false))
	var d adminapi.FunctionDetail
	if r.JSON(t, &d); r.Status != http.StatusCreated || d.Current != 1 || len(d.Versions) != 1 {
		t.Fatalf("deploy: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 30*time.Second, "both workers run version 1", s.runs(t, "hello", 2, 1, 0))
	t.Logf("figure: version 1 served by both workers %s after the deploy", time.Since(deployed).Round(time.Millisecond))
	if v, err := answer(url); err != nil || v != 1 {
		t.Fatalf("call: %d, %v", v, err)
	}

	// Version 2 under load: every call answers, from one version or the
	// other, while the workers switch.
	if r := s.put(t, "hello", version(2, true)); r.Status != http.StatusCreated {
		t.Fatalf("deploy: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 30*time.Second, "both workers run version 2", s.runs(t, "hello", 2, 2, 0))
	var calls, failed atomic.Int64
	var seen sync.Map
	stop := make(chan struct{})
	var load sync.WaitGroup
	for range 8 {
		load.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := answer(url)
				calls.Add(1)
				if err != nil {
					failed.Add(1)
					t.Errorf("call during the switch failed: %v", err)
					continue
				}
				seen.Store(v, true)
			}
		})
	}
	testenv.Eventually(t, 10*time.Second, "calls under load", func() bool { return calls.Load() > 50 })
	switched := time.Now()
	if r := s.put(t, "hello", version(3, true)); r.Status != http.StatusCreated {
		t.Fatalf("deploy: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 30*time.Second, "both workers run version 3", s.runs(t, "hello", 2, 3, 0))
	took := time.Since(switched)
	testenv.Eventually(t, 10*time.Second, "version 3 answers", func() bool {
		_, ok := seen.Load(3)
		return ok
	})
	close(stop)
	load.Wait()
	t.Logf("figure: version 3 served by both workers %s after the deploy, %d calls under load, %d failed", took.Round(time.Millisecond), calls.Load(), failed.Load())

	// A version that does not load: version 3 serves on, the load error
	// shows.
	broken := codetest.TarGz(codetest.File("index.js", "exports.main = async () => {{ syntax error\n"))
	if r := s.put(t, "hello", broken); r.Status != http.StatusCreated {
		t.Fatalf("deploy: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 30*time.Second, "both workers report version 4's load error and run 3", s.runs(t, "hello", 2, 3, 4))
	d = s.detail(t, "hello")
	if d.Current != 4 || !strings.Contains(d.Workers[0].LoadError, "Unexpected") {
		t.Fatalf("detail: %+v", d)
	}
	if v, err := answer(url); err != nil || v != 3 {
		t.Fatalf("call after a broken deploy: %d, %v", v, err)
	}

	// Rollback to version 1.
	r = gt.Do(t, http.MethodPost, s.gw.AdminURL+"/admin/functions/hello/rollback", "", http.Header{"Content-Type": {"application/json"}}, []byte(`{"version": 1}`))
	if r.JSON(t, &d); r.Status != http.StatusOK || d.Current != 1 || len(d.Versions) != 4 {
		t.Fatalf("rollback: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 30*time.Second, "both workers run version 1 again", s.runs(t, "hello", 2, 1, 0))
	if v, err := answer(url); err != nil || v != 1 {
		t.Fatalf("call after the rollback: %d, %v", v, err)
	}
}

// TestDeployPools: a worker with Functions (FNGATE_FUNCTIONS) serves only
// the deployed functions its patterns match; one without serves them all.
func TestDeployPools(t *testing.T) {
	t.Parallel()
	s := newDeployStack(t)
	images := s.worker(t, "img-*", "thumbs")
	all := s.worker(t)
	for _, name := range []string{"hello", "img-resize", "thumbs"} {
		if r := s.put(t, name, version(1, false)); r.Status != http.StatusCreated {
			t.Fatalf("deploy %s: %d %s", name, r.Status, r.Body)
		}
	}
	// Records reach each worker in the order they were written: once the
	// pool serves thumbs it has passed hello by.
	testenv.Eventually(t, 30*time.Second, "thumbs served by both", s.runs(t, "thumbs", 2, 1, 0))
	testenv.Eventually(t, 30*time.Second, "img-resize served by both", s.runs(t, "img-resize", 2, 1, 0))
	testenv.Eventually(t, 30*time.Second, "hello served by one", s.runs(t, "hello", 1, 1, 0))
	if d := s.detail(t, "hello"); d.Workers[0].WorkerID == "" || slices.Contains(images.Functions(), "hello") || !slices.Contains(all.Functions(), "hello") {
		t.Fatalf("hello: %+v; pool serves %v", d, images.Functions())
	}
}

// TestDeployRefuses: hostile or oversized archives, bad names and unknown
// versions are refused with their codes, and nothing is stored.
func TestDeployRefuses(t *testing.T) {
	t.Parallel()
	s := newDeployStack(t)
	gz := http.Header{"Content-Type": {"application/gzip"}}
	for _, c := range []struct {
		name, fn string
		header   http.Header
		body     []byte
		status   int
		code     string
	}{
		{"path traversal", "hello", gz, codetest.TarGz(codetest.File("index.js", ""), codetest.File("../../etc/cron.d/x", "")), 400, "INVALID_ARCHIVE"},
		{"absolute path", "hello", gz, codetest.TarGz(codetest.File("/etc/passwd", "")), 400, "INVALID_ARCHIVE"},
		{"symlink", "hello", http.Header{"Content-Type": {"application/zip"}}, codetest.Zip(codetest.File("index.js", ""), codetest.Symlink("lib", "/")), 400, "INVALID_ARCHIVE"},
		{"hard link", "hello", gz, codetest.TarGz(codetest.HardLink("index.js", "/etc/shadow")), 400, "INVALID_ARCHIVE"},
		{"no entry file", "hello", gz, codetest.TarGz(codetest.File("main.js", "")), 400, "INVALID_ARCHIVE"},
		{"not an archive", "hello", http.Header{"Content-Type": {"application/octet-stream"}}, []byte("exports.main = 1"), 400, "INVALID_ARCHIVE"},
		{"too many files", "hello", gz, codetest.TarGz(codetest.Many(20_001)...), 413, "ARCHIVE_TOO_LARGE"},
		{"zip bomb", "hello", http.Header{"Content-Type": {"application/zip"}}, codetest.Zip(codetest.Zeros("index.js", 5<<20)), 413, "ARCHIVE_TOO_LARGE"},
		{"over FNGATE_MAX_CODE_BYTES", "hello", gz, make([]byte, 1<<20+1), 413, "CODE_TOO_LARGE"},
		{"bad name", "Hello.World", gz, version(1, false), 400, "INVALID_REQUEST"},
		{"form content type", "hello", http.Header{"Content-Type": {"text/plain"}}, version(1, false), 415, "ADMIN_CONTENT_TYPE_REFUSED"},
	} {
		r := gt.Do(t, http.MethodPut, s.gw.AdminURL+"/admin/functions/"+c.fn+"/code", "", c.header, c.body)
		if r.Status != c.status || r.ErrorCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
	rollback := func(fn, body string) *gt.Response {
		return gt.Do(t, http.MethodPost, s.gw.AdminURL+"/admin/functions/"+fn+"/rollback", "", http.Header{"Content-Type": {"application/json"}}, []byte(body))
	}
	if r := gt.Get(t, s.gw.AdminURL+"/admin/functions/hello"); r.Status != 404 || r.ErrorCode() != "FUNCTION_NOT_FOUND" {
		t.Errorf("GET after refusals: %d %s", r.Status, r.Body)
	}
	if r := rollback("hello", `{"version": 1}`); r.Status != 404 || r.ErrorCode() != "FUNCTION_NOT_FOUND" {
		t.Errorf("rollback of nothing: %d %s", r.Status, r.Body)
	}
	if r := s.put(t, "hello", version(1, false)); r.Status != http.StatusCreated {
		t.Fatalf("deploy: %d %s", r.Status, r.Body)
	}
	if r := rollback("hello", `{"version": 2}`); r.Status != 404 || r.ErrorCode() != "VERSION_NOT_FOUND" {
		t.Errorf("rollback to a version not there: %d %s", r.Status, r.Body)
	}
	if r := rollback("hello", `{"version": 0}`); r.Status != 400 || r.ErrorCode() != "INVALID_REQUEST" {
		t.Errorf("rollback to version 0: %d %s", r.Status, r.Body)
	}

	// A gateway without the code store.
	plain := gt.New(t).Gateway(gateway.Config{})
	r := gt.Do(t, http.MethodPut, plain.AdminURL+"/admin/functions/hello/code", "", gz, version(1, false))
	if r.Status != 503 || r.ErrorCode() != "DEPLOY_DISABLED" {
		t.Errorf("deploy without a code store: %d %s", r.Status, r.Body)
	}
}
