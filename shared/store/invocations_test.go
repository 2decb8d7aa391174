package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/testenv"
)

func TestInvocationListing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewInvocations(testenv.StartRedis(t).Client(), time.Hour)
	t.Cleanup(s.Close)
	// 25 records in the same millisecond (ties) and 5 later, two functions.
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	for i := range 30 {
		created := at
		if i >= 25 {
			created = at.Add(time.Duration(i) * time.Millisecond)
		}
		fn := "a"
		if i%3 == 0 {
			fn = "b"
		}
		if err := s.CreateNew(ctx, &record.Invocation{Summary: record.Summary{ID: record.NewInvocationID(), Function: fn, Mode: "async", CreatedAt: created}}, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	f := record.Filter{Limit: 7}
	pages := 0
	for {
		page, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, inv := range page.Invocations {
			if seen[inv.ID] {
				t.Fatalf("%s listed twice", inv.ID)
			}
			seen[inv.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if len(seen) != 30 || pages != 5 {
		t.Fatalf("listed %d records in %d pages, want 30 in 5", len(seen), pages)
	}
	page, err := s.List(ctx, record.Filter{Function: "b", Limit: 100})
	if err != nil || len(page.Invocations) != 10 {
		t.Fatalf("function b: %d records, %v", len(page.Invocations), err)
	}
	page, _ = s.List(ctx, record.Filter{Since: at.Add(time.Millisecond), Limit: 100})
	if len(page.Invocations) != 5 {
		t.Fatalf("since: %d records, want 5", len(page.Invocations))
	}
	page, _ = s.List(ctx, record.Filter{Status: record.StatusDead, Limit: 100})
	if len(page.Invocations) != 0 {
		t.Fatalf("status dead: %d records, want 0", len(page.Invocations))
	}
	if _, err := s.List(ctx, record.Filter{Cursor: "nonsense"}); err == nil {
		t.Fatal("bad cursor accepted")
	}
}

func TestInvocationTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewInvocations(testenv.StartRedis(t).Client(), time.Hour)
	t.Cleanup(s.Close)
	id := record.NewInvocationID()
	if err := s.CreateNew(ctx, &record.Invocation{Summary: record.Summary{ID: id, Function: "f", MaxAttempts: 3}}, []byte(`{"body":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Start(ctx, id, 1); err != nil || st != record.StatusRunning {
		t.Fatalf("Start = %q, %v", st, err)
	}
	// Attempt 1 is presumed lost; attempt 2 takes over. Attempt 1's late
	// outcome is refused.
	if _, err := s.Start(ctx, id, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Succeed(ctx, id, 1, &record.Result{StatusCode: 200, Body: "zombie"}); !errors.Is(err, record.ErrStale) {
		t.Fatalf("stale Succeed = %v, want ErrStale", err)
	}
	if err := s.Succeed(ctx, id, 2, &record.Result{StatusCode: 200, Body: "ok"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Start(ctx, id, 3); st != record.StatusSucceeded {
		t.Fatalf("Start after success = %q, want succeeded (no re-run)", st)
	}
	inv, err := s.Get(ctx, id)
	if err != nil || inv.Status != record.StatusSucceeded || inv.Attempts != 2 || inv.Result.Body != "ok" {
		t.Fatalf("record = %+v, %v", inv, err)
	}
	if ev, err := s.Event(ctx, id); err != nil || string(ev) != `{"body":"x"}` {
		t.Fatalf("event = %s, %v", ev, err)
	}
	if _, err := s.Start(ctx, record.NewInvocationID(), 1); !errors.Is(err, record.ErrInvocationNotFound) {
		t.Fatalf("Start(unknown) = %v", err)
	}
	s.Close()
	if err := s.CreateNew(ctx, &record.Invocation{Summary: record.Summary{ID: record.NewInvocationID(), Function: "f"}}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("CreateNew after Close = %v", err)
	}
}
