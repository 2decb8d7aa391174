package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/worker"
)

const fixtures = "testdata/functions"

// fixturesPython holds Python twins of some of fixtures.
const fixturesPython = "testdata/python"

// slack bounds what should take a moment ("at once", "at the 300ms
// deadline"): a few ms on an idle machine, seconds under -race on two busy
// cores. It stays below the 10s deadline such calls carry, so a call that
// waits for that deadline instead still fails the test; the figures are
// logged.
const slack = 5 * time.Second

// record is one log record, attributes flattened to strings.
type record struct {
	Time  time.Time
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// recorder is a slog.Handler that keeps every record, and also writes it to
// stderr under -v.
type recorder struct {
	mu    *sync.Mutex
	recs  *[]record
	attrs []slog.Attr
	tee   slog.Handler
}

func newRecorder() *recorder {
	r := &recorder{mu: new(sync.Mutex), recs: new([]record)}
	if testing.Verbose() {
		r.tee = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return r
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(ctx context.Context, rec slog.Record) error {
	attrs := make(map[string]string)
	for _, a := range r.attrs {
		attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	*r.recs = append(*r.recs, record{Time: rec.Time, Level: rec.Level, Msg: rec.Message, Attrs: attrs})
	r.mu.Unlock()
	if r.tee != nil {
		return r.tee.Handle(ctx, rec)
	}
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	c.attrs = append(append([]slog.Attr(nil), r.attrs...), as...)
	if r.tee != nil {
		c.tee = r.tee.WithAttrs(as)
	}
	return &c
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// find returns the first record that matches.
func (r *recorder) find(match func(record) bool) (record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range *r.recs {
		if match(rec) {
			return rec, true
		}
	}
	return record{}, false
}

// count returns how many records match.
func (r *recorder) count(match func(record) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range *r.recs {
		if match(rec) {
			n++
		}
	}
	return n
}

// copyFunctions copies the named fixtures into a new directory.
func copyFunctions(t testing.TB, names ...string) string {
	t.Helper()
	return copyFrom(t, fixtures, names...)
}

// copyFrom copies the named function folders of from into a new directory.
func copyFrom(t testing.TB, from string, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.CopyFS(filepath.Join(dir, n), os.DirFS(filepath.Join(from, n))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// start starts a Runtime on dir with every function's processes started
// (Config.Preload), closed at cleanup, which then checks that no process it
// started is left. A cfg.hooks given sets the load timeout only: start
// observes the Runtime with its own.
func start(t testing.TB, cfg Config, dir string) (*Runtime, *recorder) {
	t.Helper()
	cfg.Preload = true
	return startLazy(t, cfg, dir)
}

// startLazy is start without Preload unless cfg sets it: processes start at
// first calls.
func startLazy(t testing.TB, cfg Config, dir string) (*Runtime, *recorder) {
	t.Helper()
	rec := newRecorder()
	cfg.Dir = dir
	var loadTimeout time.Duration
	if cfg.hooks != nil {
		loadTimeout = cfg.hooks.loadTimeout
	}
	obs, h := observe(loadTimeout)
	cfg.hooks = h
	if cfg.Logger == nil {
		cfg.Logger = slog.New(rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	observers.Lock()
	observers.m[rt] = obs
	observers.Unlock()
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Error(err)
		}
		pids := started(rt)
		observers.Lock()
		delete(observers.m, rt)
		observers.Unlock()
		for _, pid := range pids {
			if groupAlive(pid) {
				t.Errorf("process group %d still has processes after Close", pid)
			}
		}
	})
	return rt, rec
}

// startFixtures copies the named fixtures and starts a Runtime on them.
func startFixtures(t testing.TB, cfg Config, names ...string) (*Runtime, *recorder) {
	t.Helper()
	return start(t, cfg, copyFunctions(t, names...))
}

// groupAlive reports whether any live (not zombie) process is in process
// group pgid.
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

var reqSeq struct {
	sync.Mutex
	n int
}

// newEvent returns an event for function fn with query q and a fresh
// request id.
func newEvent(fn string, q map[string]string, body string) *event.Event {
	reqSeq.Lock()
	reqSeq.n++
	n := reqSeq.n
	reqSeq.Unlock()
	return &event.Event{
		Path:                  "/" + fn,
		HTTPMethod:            "GET",
		Headers:               map[string]string{"host": "example.test"},
		QueryStringParameters: q,
		Body:                  body,
		RequestContext: event.RequestContext{
			RequestID:    fmt.Sprintf("req-%s-%d", fn, n),
			EnvID:        "env-test",
			FunctionName: fn,
			Domain:       "example.test",
		},
	}
}

// call calls function fn of rt with ev and a timeout through InvokeRaw.
func call(rt *Runtime, fn string, ev *event.Event, timeout time.Duration) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return rt.Handler(fn).(worker.RawHandler).InvokeRaw(ctx, ev.AppendJSON(nil))
}

// invoke calls function fn of rt with an event of query q.
func invoke(rt *Runtime, fn string, timeout time.Duration, q map[string]string) (any, error) {
	return call(rt, fn, newEvent(fn, q, ""), timeout)
}

// invokeEvent is invoke that also returns the request id of the event.
func invokeEvent(rt *Runtime, fn string, timeout time.Duration, q map[string]string) (string, any, error) {
	ev := newEvent(fn, q, "")
	res, err := call(rt, fn, ev, timeout)
	return ev.RequestContext.RequestID, res, err
}

// result decodes a successful call's JSON result into v.
func result(t testing.TB, res any, err error, v any) {
	t.Helper()
	if err != nil {
		t.Fatalf("call failed: %v", err)
	}
	raw, ok := res.(json.RawMessage)
	if !ok {
		t.Fatalf("result is %T, want json.RawMessage", res)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("result %s: %v", raw, err)
	}
}

// errCode returns the code of an *event.Error ("" for other errors).
func errCode(err error) string {
	var fe *event.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}

// timeOutTogether makes n calls of fn with query q at once, all with one
// deadline d from now, and fails t for each not answered with a timeout.
// It returns the calls' request ids.
func timeOutTogether(t *testing.T, rt *Runtime, fn string, n int, d time.Duration, q map[string]string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	rids := make([]string, n)
	var wg sync.WaitGroup
	for i := range rids {
		wg.Go(func() {
			ev := newEvent(fn, q, "")
			rids[i] = ev.RequestContext.RequestID
			_, err := rt.Handler(fn).(worker.RawHandler).InvokeRaw(ctx, ev.AppendJSON(nil))
			if errCode(err) != event.CodeTimeout {
				t.Errorf("call %d: err = %v, want %s", i, err, event.CodeTimeout)
			}
		})
	}
	wg.Wait()
	return rids
}

// startAlone starts function fn's fixture alone and returns its runtime,
// its log, and its process with the pid it started with.
func startAlone(t *testing.T, fn string) (rt *Runtime, rec *recorder, p *proc, pid int) {
	t.Helper()
	rt, rec = startFixtures(t, Config{}, fn)
	return rt, rec, rt.fns[fn].current(0), pidOf(t, rt, fn)
}

// pidOf calls a fixture that answers {pid} and returns the pid.
func pidOf(t testing.TB, rt *Runtime, fn string) int {
	t.Helper()
	var r struct{ PID int }
	res, err := invoke(rt, fn, 20*time.Second, nil)
	result(t, res, err, &r)
	if r.PID == 0 {
		t.Fatalf("%s answered no pid", fn)
	}
	return r.PID
}

// current returns the process of slot i.
func (f *function) current(i int) *proc {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.run == nil {
		return nil
	}
	return f.run.slots[i].proc
}

// wantProbesStarts fails the test unless p was probed wantProbes times and
// its function has started wantStarts processes.
func wantProbesStarts(t *testing.T, rt *Runtime, p *proc, wantProbes, wantStarts int) {
	t.Helper()
	if n := probes(rt, p); n != wantProbes {
		t.Fatalf("%d probes, want %d", n, wantProbes)
	}
	if n := starts(rt, p.f.name); n != wantStarts {
		t.Fatalf("%d processes started, want %d", n, wantStarts)
	}
}

// logWant is a log line a call should have written.
type logWant struct {
	text, stream string
	level        slog.Level
}

// checkCapture calls function fn ("logs" fixtures) five times at once, each
// with its own marker m, and checks that each logged want(m) with its own
// request id; it returns the calls' markers by request id.
func checkCapture(t *testing.T, rt *Runtime, rec *recorder, fn string, want func(m string) []logWant) map[string]string {
	t.Helper()
	var wg sync.WaitGroup
	ids := make([]string, 5)
	for i := range ids {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m := fmt.Sprintf("marker-%d", i)
			ev := newEvent(fn, map[string]string{"m": m}, "")
			ids[i] = ev.RequestContext.RequestID
			res, err := rt.Handler(fn).(worker.RawHandler).InvokeRaw(ctx, ev.AppendJSON(nil))
			if err != nil || string(res.(json.RawMessage)) != `"`+m+`"` {
				t.Errorf("call %d: %s, %v", i, res, err)
			}
		})
	}
	wg.Wait()
	markers := map[string]string{}
	for i, id := range ids {
		m := fmt.Sprintf("marker-%d", i)
		markers[id] = m
		for _, w := range want(m) {
			r, ok := rec.find(func(r record) bool { return r.Msg == w.text })
			if !ok {
				t.Errorf("no log %q", w.text)
				continue
			}
			if r.Attrs["request_id"] != id || r.Attrs["function"] != fn || r.Attrs["stream"] != w.stream || r.Level != w.level {
				t.Errorf("log %q: level %v attrs %v, want request_id %s stream %s level %v", w.text, r.Level, r.Attrs, id, w.stream, w.level)
			}
		}
	}
	return markers
}
