package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
)

func TestRoutesLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewRoutes(testenv.StartRedis(t).Client())
	changes := s.Changes(t.Context())

	a := &route.Route{Domain: "*", Path: "/api/", Function: "a"}
	if err := s.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.Path != "/api" {
		t.Fatalf("Create did not normalise: %+v", a)
	}
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
	if got, err := s.Get(ctx, moved.ID); err != nil || got.Function != "a2" {
		t.Fatalf("Get(new id) = %+v, %v", got, err)
	}
	if err := s.Replace(ctx, "nope", moved); !errors.Is(err, route.ErrNotFound) {
		t.Fatalf("Replace(missing) = %v", err)
	}
	rs, ver, err := s.Snapshot(ctx)
	if err != nil || len(rs) != 2 || ver != 3 {
		t.Fatalf("Snapshot = %d routes, version %d, %v; want 2, 3", len(rs), ver, err)
	}
	if err := s.Delete(ctx, moved.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, moved.ID); !errors.Is(err, route.ErrNotFound) {
		t.Fatalf("second Delete = %v", err)
	}
	if v, err := s.Version(ctx); err != nil || v != 4 {
		t.Fatalf("Version = %d, %v; want 4", v, err)
	}
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("no change notification")
	}
}

// Seed after a lost table: the first of several concurrent seeders writes
// the routes above the version they held, the others change nothing, and
// routes written meanwhile by others stay.
func TestRoutesSeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := testenv.StartRedis(t)
	s := NewRoutes(r.Client())
	seed := []route.Route{{Domain: "*", Path: "/a", Function: "a"}, {Domain: "*", Path: "/b", Function: "b"}}
	if err := s.Put(ctx, seed); err != nil {
		t.Fatal(err)
	}
	if err := r.Client().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Version(ctx); err != nil || v != 0 {
		t.Fatalf("version after FLUSHALL = %d, %v", v, err)
	}
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
		t.Fatalf("after seeding: %d routes at version %d, %v", len(rs), v, err)
	}
	// Held by nobody above 6: a later seed at 6 goes on to 7; at 5, nothing.
	if v, err := s.Seed(ctx, seed, 5); err != nil || v != 6 {
		t.Fatalf("stale seed = %d, %v", v, err)
	}
	if v, err := s.Seed(ctx, nil, 6); err != nil || v != 7 {
		t.Fatalf("seed above 6 = %d, %v", v, err)
	}
}
