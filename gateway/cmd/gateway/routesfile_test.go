package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
)

// TestRoutesFileAppliedAsDiff: FNGATE_ROUTES writes only the routes that
// differ from the store's. Applied again unchanged, it writes nothing and
// raises no version (so no gateway reloads anything); a route changed
// through the admin API since is put back as the file has it, in one
// change, and routes beyond the file stay.
func TestRoutesFileAppliedAsDiff(t *testing.T) {
	t.Parallel()
	rdb := testenv.StartRedis(t).Client()
	rs, fs := store.NewRoutes(rdb), store.NewFunctions(rdb)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(file, []byte("routes:\n  - {domain: \"*\", path: /a, function: hello}\n  - {domain: \"*\", path: /b, function: hello}\n  - {domain: shop.example, path: /, function: shop}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	version := func() int64 {
		t.Helper()
		v, err := rs.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, err := applyRoutesFile(ctx, rs, fs, file); err != nil {
		t.Fatal(err)
	}
	v := version()
	if _, err := applyRoutesFile(ctx, rs, fs, file); err != nil {
		t.Fatal(err)
	}
	if got := version(); got != v {
		t.Fatalf("an unchanged routes file raised the version from %d to %d", v, got)
	}
	if err := rs.Create(ctx, &route.Route{Domain: "*", Path: "/extra", Function: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := rs.Replace(ctx, route.ID("*", "/b"), &route.Route{Domain: "*", Path: "/b", Function: "changed"}); err != nil {
		t.Fatal(err)
	}
	v = version()
	if _, err := applyRoutesFile(ctx, rs, fs, file); err != nil {
		t.Fatal(err)
	}
	if got := version(); got != v+1 {
		t.Fatalf("version after putting one route back = %d, want %d", got, v+1)
	}
	if b, err := rs.Get(ctx, route.ID("*", "/b")); err != nil || b.Function != "hello" {
		t.Fatalf("/b after the file = %+v, %v; want the file's function", b, err)
	}
	if _, err := rs.Get(ctx, route.ID("*", "/extra")); err != nil {
		t.Fatalf("a route beyond the file is gone: %v", err)
	}
}

// TestRoutesFileSchedules: the schedules: section of FNGATE_ROUTES is put
// into the schedules stream beside the routes; applied again unchanged
// (each gateway applies it at start) it writes nothing, so the
// schedules' timers keep running.
func TestRoutesFileSchedules(t *testing.T) {
	t.Parallel()
	s := gt.New(t)
	gw := s.Gateway(gateway.Config{})
	file := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(file, []byte(`routes:
  - {domain: "*", path: /a, function: hello}
functions:
  - {name: hello, maxConcurrency: 3}
schedules:
  - {id: nightly, function: report, cron: "0 0 3 * * *", timezone: Europe/Berlin, body: "{}", retry: {maxAttempts: 5}}
  - {id: tick, function: hello, every: 30s, headers: {x-source: timer}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rs := store.NewRoutes(s.Redis.Client())
	if _, err := applyRoutesFile(ctx, rs, store.NewFunctions(s.Redis.Client()), file); err != nil {
		t.Fatal(err)
	}
	if err := applySchedulesFile(ctx, gw.Gateway, file); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	last := func() uint64 {
		st, err := js.Stream(ctx, subject.StreamSchedules)
		var info *jetstream.StreamInfo
		if err == nil {
			info, err = st.Info(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	seq := last()
	if err := applySchedulesFile(ctx, gw.Gateway, file); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != seq {
		t.Fatalf("an unchanged file wrote the schedules again (last sequence %d, was %d)", got, seq)
	}
	var l gateway.ScheduleList
	gt.Get(t, gw.AdminURL+"/admin/schedules").JSON(t, &l)
	if len(l.Schedules) != 2 || l.Schedules[0].ID != "nightly" || l.Schedules[0].Retry.MaxAttempts != 5 || l.Schedules[1].Headers["x-source"] != "timer" {
		t.Fatalf("schedules = %+v", l.Schedules)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("schedules:\n  - {function: x, every: 1s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := applySchedulesFile(ctx, gw.Gateway, bad); err == nil {
		t.Fatal("a schedule without id in a routes file was applied")
	}
}

// TestRoutesFileUnchangedSkipped: a routes file applied again while the
// table is still what it made is neither parsed nor compared (one round
// trip: seconds saved at 100,000 routes); a change to the table since, or
// another file, makes it compared again; a file that does not parse fails
// at once, without the retries a Redis still starting gets.
func TestRoutesFileUnchangedSkipped(t *testing.T) {
	t.Parallel()
	rd := testenv.StartRedis(t)
	rs, fs := store.NewRoutes(rd.Client()), store.NewFunctions(rd.Client())
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "routes.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(wantUnchanged bool, wantWritten int) {
		t.Helper()
		res, err := applyRoutesFile(ctx, rs, fs, file)
		if err != nil {
			t.Fatal(err)
		}
		if res.Unchanged != wantUnchanged || res.Written != wantWritten {
			t.Fatalf("applied: %+v, want unchanged %v, %d versions written", res, wantUnchanged, wantWritten)
		}
	}
	write("routes:\n  - {domain: \"*\", path: /a, function: hello}\n  - {domain: \"*\", path: /b, function: hello}\n")
	apply(false, 1)
	apply(true, 0)
	apply(true, 0)
	// Changed by the admin API since: compared again, /b put back.
	if err := rs.Replace(ctx, route.ID("*", "/b"), &route.Route{Domain: "*", Path: "/b", Function: "changed"}); err != nil {
		t.Fatal(err)
	}
	apply(false, 1)
	if b, err := rs.Get(ctx, route.ID("*", "/b")); err != nil || b.Function != "hello" {
		t.Fatalf("/b = %+v, %v; want the file's", b, err)
	}
	apply(true, 0)
	// A change that the file does not cover still makes it compared (and
	// then nothing differs).
	if err := rs.Create(ctx, &route.Route{Domain: "*", Path: "/extra", Function: "x"}); err != nil {
		t.Fatal(err)
	}
	apply(false, 0)
	apply(true, 0)
	// Another file: compared.
	write("routes:\n  - {domain: \"*\", path: /a, function: other}\n")
	apply(false, 1)
	apply(true, 0)
	// Redis lost everything: the file is written again.
	if err := rd.Client().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	apply(false, 1)
	if got, _, err := rs.Snapshot(ctx); err != nil || len(got) != 1 {
		t.Fatalf("after FLUSHALL and the file: %d routes, %v", len(got), err)
	}
	write("routes:\n  - {domain: \"*\", path: /a, function: Not_Valid}\n")
	// Retried (30 s), it would end with the context's error instead.
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := applyRoutesFile(short, rs, fs, file); !errors.Is(err, route.ErrInvalid) {
		t.Fatalf("invalid file: %v, want route.ErrInvalid at once", err)
	}
}

// TestRoutesFileFunctions: the functions: section stores each function's
// maxConcurrency; a bad one refuses the file.
func TestRoutesFileFunctions(t *testing.T) {
	t.Parallel()
	rdb := testenv.StartRedis(t).Client()
	rs, fs := store.NewRoutes(rdb), store.NewFunctions(rdb)
	ctx := context.Background()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"ok.yaml":  "routes:\n  - {domain: \"*\", path: /pay, function: pay}\nfunctions:\n  - {name: pay, maxConcurrency: 2}\n",
		"bad.yaml": "routes: []\nfunctions:\n  - {name: pay, maxConcurrency: -1}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := applyRoutesFile(ctx, rs, fs, filepath.Join(dir, "ok.yaml")); err != nil {
		t.Fatal(err)
	}
	if f, err := fs.Get(ctx, "pay"); err != nil || f.MaxConcurrency != 2 {
		t.Fatalf("pay = %+v, %v; want maxConcurrency 2", f, err)
	}
	if _, err := applyRoutesFile(ctx, rs, fs, filepath.Join(dir, "bad.yaml")); err == nil {
		t.Fatal("a negative maxConcurrency was applied")
	}
}
