package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/route"
)

// TestRoutes checks a route table: creation with normalisation and
// conflicts, replacement, deletion, Put, the snapshot and its version,
// change notifications, and seeding a table that was lost.
func TestRoutes(t *testing.T, newStore func(t *testing.T) Routes) {
	run(t, newStore, routesLifecycle, routesPut, routesChanges, routesSeed)
}

func routesLifecycle(t *testing.T, s Routes) {
	ctx := context.Background()
	if rs, v, err := s.Snapshot(ctx); err != nil || len(rs) != 0 || v != 0 {
		t.Fatalf("empty Snapshot = %d routes, version %d, %v; want 0, 0", len(rs), v, err)
	}
	if v, err := s.Version(ctx); err != nil || v != 0 {
		t.Fatalf("empty Version = %d, %v; want 0", v, err)
	}
	a := &route.Route{Domain: "*", Path: "/api/", Function: "a"}
	if err := s.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.Path != "/api" {
		t.Fatalf("Create did not normalise: %+v", a)
	}
	// The first write starts the table's epoch; later ones keep it.
	epoch, err := s.Epoch(ctx)
	if err != nil || epoch == "" {
		t.Fatalf("Epoch after the first write = %q, %v; want one", epoch, err)
	}
	defer func() {
		if e, err := s.Epoch(ctx); err != nil || e != epoch {
			t.Errorf("Epoch after later writes = %q, %v; want %q", e, err, epoch)
		}
	}()
	if err := s.Create(ctx, &route.Route{Domain: "*", Path: "/api", Function: "b"}); !errors.Is(err, route.ErrConflict) {
		t.Fatalf("duplicate Create = %v, want route.ErrConflict", err)
	}
	if err := s.Create(ctx, &route.Route{Domain: "*", Path: "x", Function: "b"}); !errors.Is(err, route.ErrInvalid) {
		t.Fatalf("invalid Create = %v, want route.ErrInvalid", err)
	}
	b := &route.Route{Domain: "*", Path: "/b", Function: "b"}
	if err := s.Put(ctx, []route.Route{*b}); err != nil {
		t.Fatal(err)
	}
	// Moving a onto b's path conflicts; moving it elsewhere works.
	if err := s.Replace(ctx, a.ID, &route.Route{Domain: "*", Path: "/b", Function: "a"}); !errors.Is(err, route.ErrConflict) {
		t.Fatalf("Replace onto /b = %v, want route.ErrConflict", err)
	}
	moved := &route.Route{Domain: "*", Path: "/c", Function: "a2"}
	if err := s.Replace(ctx, a.ID, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, a.ID); !errors.Is(err, route.ErrNotFound) {
		t.Fatalf("Get(old id) = %v, want route.ErrNotFound", err)
	}
	if got, err := s.Get(ctx, moved.ID); err != nil || got.Function != "a2" || got.Path != "/c" {
		t.Fatalf("Get(new id) = %+v, %v", got, err)
	}
	if err := s.Replace(ctx, "nope", moved); !errors.Is(err, route.ErrNotFound) {
		t.Fatalf("Replace(missing) = %v, want route.ErrNotFound", err)
	}
	// Every change bumps the version by one: create, put, replace.
	rs, ver, err := s.Snapshot(ctx)
	if err != nil || len(rs) != 2 || ver != 3 {
		t.Fatalf("Snapshot = %d routes, version %d, %v; want 2, 3", len(rs), ver, err)
	}
	paths := map[string]bool{}
	for _, r := range rs {
		paths[r.Path] = true
	}
	if !paths["/b"] || !paths["/c"] {
		t.Fatalf("Snapshot paths = %v, want /b and /c", paths)
	}
	if err := s.Delete(ctx, moved.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, moved.ID); !errors.Is(err, route.ErrNotFound) {
		t.Fatalf("second Delete = %v, want route.ErrNotFound", err)
	}
	if v, err := s.Version(ctx); err != nil || v != 4 {
		t.Fatalf("Version = %d, %v; want 4", v, err)
	}
}

// routesPut: Put creates or overwrites by domain and path, atomically,
// leaving other routes alone.
func routesPut(t *testing.T, s Routes) {
	ctx := context.Background()
	other := &route.Route{Domain: "*", Path: "/other", Function: "o"}
	if err := s.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, []route.Route{{Domain: "*", Path: "/a", Function: "a"}, {Domain: "*", Path: "/b", Function: "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, []route.Route{{Domain: "*", Path: "/a/", Function: "a2"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, route.ID("*", "/a"))
	if err != nil || got.Function != "a2" {
		t.Fatalf("route /a after the second Put = %+v, %v; want function a2", got, err)
	}
	if err := s.Put(ctx, []route.Route{{Domain: "*", Path: "/ok", Function: "f"}, {Domain: "*", Path: "bad", Function: "f"}}); !errors.Is(err, route.ErrInvalid) {
		t.Fatalf("Put with an invalid route = %v, want route.ErrInvalid", err)
	}
	rs, _, err := s.Snapshot(ctx)
	if err != nil || len(rs) != 3 {
		t.Fatalf("Snapshot = %d routes, %v; want 3 (a refused Put writes nothing)", len(rs), err)
	}
}

// routesChanges: a subscriber hears at once that it is subscribed (so it
// can load the table then and miss nothing), and then each change in
// order, with its version and the routes it set and deleted, whole; a
// Put that changes nothing publishes nothing and keeps the version.
func routesChanges(t *testing.T, s Routes) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := s.Changes(ctx)
	// Changes of other checks on the same server may still arrive (a
	// Cluster passes messages between its nodes late): this check's
	// routes are all under /chg, and changes without them are skipped.
	ours := func(c route.Change) bool {
		for _, r := range append(c.Set, c.Del...) {
			if strings.HasPrefix(r.Path, "/chg") {
				return true
			}
		}
		return c.Resync
	}
	next := func(what string) route.Change {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case c := <-changes:
				if ours(c) {
					return c
				}
			case <-timeout:
				t.Fatalf("no value on Changes within 10s %s", what)
				return route.Change{}
			}
		}
	}
	if c := next("after subscribing"); !c.Resync {
		t.Fatalf("first value = %+v, want a Resync", c)
	}
	paths := func(rs []route.Route) (out []string) {
		for _, r := range rs {
			out = append(out, r.Domain+r.Path+":"+r.Function)
		}
		return out
	}
	want := func(what string, v int64, set, del []string) {
		t.Helper()
		c := next(what)
		if c.Version != v || c.Resync || !slices.Equal(paths(c.Set), set) || !slices.Equal(paths(c.Del), del) {
			t.Fatalf("%s: change = v%d set %v del %v resync %v; want v%d set %v del %v", what, c.Version, paths(c.Set), paths(c.Del), c.Resync, v, set, del)
		}
	}
	a := &route.Route{Domain: "*", Path: "/chg/a", Function: "a"}
	if err := s.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	want("create", 1, []string{"*/chg/a:a"}, nil)
	if err := s.Replace(ctx, a.ID, &route.Route{Domain: "*", Path: "/chg/a", Function: "a2"}); err != nil {
		t.Fatal(err)
	}
	want("update", 2, []string{"*/chg/a:a2"}, nil)
	moved := &route.Route{Domain: "b.example", Path: "/chg/a", Function: "a2"}
	if err := s.Replace(ctx, a.ID, moved); err != nil {
		t.Fatal(err)
	}
	want("domain move", 3, []string{"b.example/chg/a:a2"}, []string{"*/chg/a:a2"})
	if err := s.Put(ctx, []route.Route{{Domain: "b.example", Path: "/chg/a", Function: "a2"}, {Domain: "*", Path: "/chg/c", Function: "c"}}); err != nil {
		t.Fatal(err)
	}
	want("put of one new and one unchanged route", 4, []string{"*/chg/c:c"}, nil)
	if err := s.Put(ctx, []route.Route{{Domain: "*", Path: "/chg/c", Function: "c"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, moved.ID); err != nil {
		t.Fatal(err)
	}
	want("delete (the unchanged put before it published nothing)", 5, nil, []string{"b.example/chg/a:a2"})
	if v, err := s.Apply(ctx, nil, []string{route.ID("*", "/chg/c"), "missing"}); err != nil || v != 6 {
		t.Fatalf("Apply(delete /c) = %d, %v; want 6", v, err)
	}
	want("apply", 6, nil, []string{"*/chg/c:c"})
}

// routesSeed: a gateway that finds the table lost (its version below the
// one it holds) writes its routes back above that version. Of several
// gateways seeding at once the first wins, the others change nothing, and
// routes written meanwhile by others stay.
func routesSeed(t *testing.T, s Routes) {
	ctx := context.Background()
	seed := []route.Route{{Domain: "*", Path: "/a", Function: "a"}, {Domain: "*", Path: "/b", Function: "b"}}
	if err := s.Create(ctx, &route.Route{Domain: "*", Path: "/new", Function: "n"}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			v, err := s.Seed(ctx, []route.Route{seed[0], seed[1]}, 5)
			if err == nil && v != 6 {
				err = errors.New("seed did not end at version 6")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	rs, v, err := s.Snapshot(ctx)
	if err != nil || v != 6 || len(rs) != 3 {
		t.Fatalf("after seeding: %d routes at version %d, %v; want 3 at 6", len(rs), v, err)
	}
	// Held by nobody above 6: a later seed at 5 changes nothing.
	if v, err := s.Seed(ctx, []route.Route{{Domain: "*", Path: "/stale", Function: "s"}}, 5); err != nil || v != 6 {
		t.Fatalf("stale seed = %d, %v; want 6", v, err)
	}
	if _, err := s.Get(ctx, route.ID("*", "/stale")); !errors.Is(err, route.ErrNotFound) {
		t.Fatalf("a stale seed wrote its route: %v", err)
	}
	// At the store's version with every route there already (another
	// gateway wrote them back): nothing; with one missing: 7.
	if v, err := s.Seed(ctx, rs, 6); err != nil || v != 6 {
		t.Fatalf("seed of the routes there at 6 = %d, %v; want 6", v, err)
	}
	if v, err := s.Seed(ctx, []route.Route{{Domain: "*", Path: "/fresh", Function: "f"}}, 6); err != nil || v != 7 {
		t.Fatalf("seed above 6 = %d, %v; want 7", v, err)
	}
}
