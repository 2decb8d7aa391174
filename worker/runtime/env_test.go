package runtime

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// whoami answers what a function can see of its process: its environment,
// argv, user, and whether it can read ?file= and write to its HOME.
const whoami = `const fs = require('node:fs');
const path = require('node:path');
exports.main = async (event, context) => {
  const q = event.queryStringParameters || {};
  const tryRead = (f) => { try { fs.readFileSync(f); return 'ok'; } catch (e) { return e.code; } };
  const tryWrite = () => {
    try { fs.writeFileSync(path.join(process.env.HOME, 'probe'), 'x'); return 'ok'; } catch (e) { return e.code; }
  };
  return {
    env: process.env, argv: process.argv.slice(1), memory: context.memory_limit_in_mb,
    uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
    file: q.file ? tryRead(q.file) : '', parentEnviron: tryRead('/proc/' + process.ppid + '/environ'),
    home: tryWrite(),
  };
};
`

type whoamiResult struct {
	Env           map[string]string
	Argv          []string
	Memory        int
	UID, GID      int
	Groups        []int
	File          string
	ParentEnviron string
	Home          string
}

// serve routes /<name> to each function of rt through a real gateway,
// NATS, Redis and worker, and returns the gateway's URL.
func serve(t *testing.T, rt *Runtime) string {
	t.Helper()
	handlers := map[string]sdk.Handler{}
	var routes []route.Route
	for _, n := range rt.Functions() {
		handlers[n] = rt.Handler(n)
		routes = append(routes, route.Route{Domain: "*", Path: "/" + n, Function: n})
	}
	stack := gt.New(t, routes...)
	stack.Worker(worker.Config{Concurrency: rt.Concurrency()}, handlers)
	return stack.Gateway(gateway.Config{}).URL
}

func getWhoami(t *testing.T, url string) whoamiResult {
	t.Helper()
	r := gt.Get(t, url)
	if r.Status != 200 {
		t.Fatalf("GET %s: %d %s", url, r.Status, r.Body)
	}
	var w whoamiResult
	r.JSON(t, &w)
	return w
}

func writeConfig(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name, ConfigFile), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFunctionEnvironment: a function sees PATH, HOME, LANG, TZ, NODE_*,
// the variables named in PassEnv and those of its own fngate.json; none of
// the worker's other variables (its secrets) and none of the runtime's
// internal ones. Before, it saw everything but FNGATE_*.
func TestFunctionEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFunction(t, dir, "env-own", whoami)
	writeConfig(t, dir, "env-own", `{"env": {"API_BASE": "https://api.example.test", "TZ": "Asia/Shanghai"}}`)
	writeFunction(t, dir, "env-plain", whoami)
	environ := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=/home/worker", "LANG=C.UTF-8", "TZ=UTC", "NODE_ENV=production",
		"REDIS_PASSWORD=hunter2", "FNGATE_REDIS_URL=redis://:hunter2@redis:6379/0", "FNGATE_ADMIN_TOKEN=tok-secret-0123456789",
		"SECRET_X=s3", "AWS_SECRET_ACCESS_KEY=k", "HTTPS_PROXY=http://proxy.test:3128", "LD_PRELOAD=/evil.so",
	}
	rt, _ := start(t, Config{Environ: environ, PassEnv: []string{"HTTPS_PROXY", "UNSET_NAME"}, MaxOldSpaceMB: 96}, dir)
	if dumpable() {
		t.Error("the worker is still dumpable: a function of its user could read /proc/<worker>/environ")
	}
	url := serve(t, rt)

	base := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": "/home/worker", "LANG": "C.UTF-8", "TZ": "UTC", "NODE_ENV": "production",
		"HTTPS_PROXY": "http://proxy.test:3128",
	}
	own := maps.Clone(base)
	own["API_BASE"], own["TZ"] = "https://api.example.test", "Asia/Shanghai"
	for fn, want := range map[string]map[string]string{"env-plain": base, "env-own": own} {
		w := getWhoami(t, url+"/"+fn)
		if !maps.Equal(w.Env, want) {
			t.Errorf("%s: process.env = %v\nwant %v", fn, w.Env, want)
		}
		if len(w.Argv) != 0 {
			t.Errorf("%s: process.argv[1:] = %q, want none (the bootstrap's arguments removed)", fn, w.Argv)
		}
		if w.Memory != 96 {
			t.Errorf("%s: context.memory_limit_in_mb = %d, want 96", fn, w.Memory)
		}
	}
}

// TestFunctionConfigFile: a fngate.json that cannot be used is a load error
// of its function alone, logged; fixed, the function is served; an edit of
// its variables restarts its processes with the new ones.
func TestFunctionConfigFile(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"unknown-key":  `{"env": {}, "memory": 512}`,
		"bad-name":     `{"env": {"1X": "v"}}`,
		"reserved":     `{"env": {"FNGATE_REDIS_URL": "redis://x"}}`,
		"not-string":   `{"env": {"N": 1}}`,
		"trailing":     `{"env": {}} {}`,
		"not-json":     `env: {}`,
		"nul-in-value": `{"env": {"N": "a\u0000b"}}`,
	}
	dir := t.TempDir()
	for name, data := range bad {
		writeFunction(t, dir, name, whoami)
		writeConfig(t, dir, name, data)
	}
	writeFunction(t, dir, "good", whoami)
	writeConfig(t, dir, "good", `{"env": {"GREETING": "hi"}}`)
	rt, rec := start(t, Config{Environ: []string{}, ReloadInterval: 20 * time.Millisecond}, dir)

	for name := range bad {
		if _, ok := rec.find(func(r record) bool {
			return r.Msg == "function failed to load" && r.Attrs["function"] == name && strings.Contains(r.Attrs["err"], ConfigFile)
		}); !ok {
			t.Errorf("%s: load error not logged", name)
		}
		if _, err := invoke(rt, name, 10*time.Second, nil); errCode(err) != event.CodeLoadError {
			t.Errorf("%s: err = %v, want %s", name, err, event.CodeLoadError)
		}
	}
	var w whoamiResult
	res, err := invoke(rt, "good", 10*time.Second, nil)
	result(t, res, err, &w)
	if w.Env["GREETING"] != "hi" {
		t.Fatalf("good: env %v", w.Env)
	}

	// Fixed, the function is served (it was retried with backoff).
	writeConfig(t, dir, "reserved", `{"env": {"REDIS_URL": "redis://x"}}`)
	testenv.Eventually(t, 15*time.Second, "fixed fngate.json served", func() bool {
		res, err := invoke(rt, "reserved", 10*time.Second, nil)
		return err == nil && strings.Contains(string(res.(json.RawMessage)), `"REDIS_URL":"redis://x"`)
	})

	// Edited variables: new processes with the new environment.
	pid := rt.fns["good"].current(0).pid
	writeConfig(t, dir, "good", `{"env": {"GREETING": "hello"}}`)
	testenv.Eventually(t, 15*time.Second, "edited variable served", func() bool {
		res, err := invoke(rt, "good", 10*time.Second, nil)
		return err == nil && strings.Contains(string(res.(json.RawMessage)), `"GREETING":"hello"`)
	})
	if p := rt.fns["good"].current(0); p == nil || p.pid == pid {
		t.Fatal("the process was not replaced after its fngate.json changed")
	}
}

// TestFunctionUID: with UID and UIDPerFunction a worker running as root
// runs each function as a user of its own, without root's groups, with a
// HOME of its own; the function cannot read a root-only file (the worker's
// configuration) nor the worker's environment.
func TestFunctionUID(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the worker switches users only as root (CI and the dev container run tests as root)")
	}
	// The functions' folder must be readable by their users; t.TempDir's
	// folders are root's alone.
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFunction(t, dir, "uid-a", whoami)
	writeFunction(t, dir, "uid-b", whoami)
	secret := filepath.Join(t.TempDir(), "worker.env")
	if err := os.Chmod(filepath.Dir(secret), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("FNGATE_REDIS_URL=redis://:hunter2@redis/0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const base = 48213
	rt, _ := start(t, Config{Environ: []string{"PATH=" + os.Getenv("PATH"), "HOME=/root"}, UID: base, UIDPerFunction: true}, dir)
	url := serve(t, rt)

	homes := map[string]bool{}
	for i, fn := range []string{"uid-a", "uid-b"} {
		w := getWhoami(t, url+"/"+fn+"?file="+secret)
		if w.UID != base+i || w.GID != base+i || len(w.Groups) > 1 || len(w.Groups) == 1 && w.Groups[0] != base+i {
			t.Errorf("%s: uid %d gid %d groups %v, want uid and gid %d, no other group", fn, w.UID, w.GID, w.Groups, base+i)
		}
		if w.File != "EACCES" {
			t.Errorf("%s: reading a root-only file: %q, want EACCES", fn, w.File)
		}
		if w.ParentEnviron != "EACCES" {
			t.Errorf("%s: reading the worker's /proc/<pid>/environ: %q, want EACCES", fn, w.ParentEnviron)
		}
		if w.Home != "ok" || w.Env["HOME"] == "/root" {
			t.Errorf("%s: HOME %s: writing there: %s, want a writable folder of its own", fn, w.Env["HOME"], w.Home)
		}
		homes[w.Env["HOME"]] = true
		if info, err := os.Stat(filepath.Join(w.Env["HOME"], "probe")); err != nil || !ownedBy(info, base+i) {
			t.Errorf("%s: file written to HOME: %v", fn, err)
		}
	}
	if len(homes) != 2 {
		t.Errorf("HOME folders %v: want one per function", slices.Collect(maps.Keys(homes)))
	}
	for h := range homes {
		if info, err := os.Stat(h); err != nil || info.Mode().Perm() != 0o700 {
			t.Errorf("HOME %s: %v, want mode 0700", h, err)
		}
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	for h := range homes {
		if _, err := os.Stat(h); !os.IsNotExist(err) {
			t.Errorf("HOME %s left after Close: %v", h, err)
		}
	}
}

func TestParseUID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]int{"": {0, 0}, "20000": {20000, 0}, "20000+": {20000, 1}} {
		uid, per, err := ParseUID(in)
		if err != nil || uid != want[0] || per != (want[1] == 1) {
			t.Errorf("ParseUID(%q) = %d, %v, %v", in, uid, per, err)
		}
	}
	for _, in := range []string{"0", "-1", "root", "20000++", "+", strconv.Itoa(maxUID + 1)} {
		if _, _, err := ParseUID(in); err == nil {
			t.Errorf("ParseUID(%q) accepted", in)
		}
	}
}

func TestConfigRefusesBadPassEnv(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"FNGATE_REDIS_URL", "A-B", ""} {
		if err := (Config{Dir: ".", PassEnv: []string{n}}).WithDefaults().validate(); err == nil {
			t.Errorf("PassEnv %q accepted", n)
		}
	}
}

func ownedBy(info os.FileInfo, uid int) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid
}
