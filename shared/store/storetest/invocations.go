package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/record"
)

// TestInvocations checks invocation records: creation (many at once, and
// replays at most once), listing with filters and cursors, the attempt
// transitions and their guards, callbacks, and unknown ids.
func TestInvocations(t *testing.T, newStore func(t *testing.T) Invocations) {
	run(t, newStore, invocationsCreateAndGet, invocationsConcurrentCreate, invocationsListing, invocationsTransitions, invocationsTake, invocationsSyncLost, invocationsCancel, invocationsReplayOnce, invocationsUnknown)
}

func newInvocation(fn string) *record.Invocation {
	return &record.Invocation{Summary: record.Summary{ID: record.NewInvocationID(), Function: fn, Mode: "async", MaxAttempts: 3}}
}

// invocationsCreateAndGet: a new record is queued with its creation time;
// a recorded sync failure (Create with a status) keeps every field given.
func invocationsCreateAndGet(t *testing.T, s Invocations) {
	ctx := context.Background()
	inv := newInvocation("f")
	inv.CallbackURL = "https://example.com/cb"
	before := time.Now().Add(-time.Second)
	if err := s.CreateNew(ctx, inv, []byte(`{"body":"x"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != inv.ID || got.Function != "f" || got.Mode != "async" || got.Status != record.StatusQueued ||
		got.Attempts != 0 || got.MaxAttempts != 3 || got.CallbackURL != inv.CallbackURL || got.CreatedAt.Before(before) || got.UpdatedAt.IsZero() {
		t.Fatalf("new record = %+v", got)
	}
	if got.StartedAt != nil || got.FinishedAt != nil || got.Result != nil || len(got.AttemptErrors) != 0 {
		t.Fatalf("new record has an outcome: %+v", got)
	}
	if ev, err := s.Event(ctx, inv.ID); err != nil || string(ev) != `{"body":"x"}` {
		t.Fatalf("Event = %s, %v", ev, err)
	}

	failed := &record.Invocation{
		Summary: record.Summary{ID: record.NewInvocationID(), Function: "f", Mode: "sync", Status: record.StatusFailed,
			Attempts: 1, MaxAttempts: 1, Result: &record.Result{StatusCode: 502, Headers: map[string][]string{"X-A": {"1"}}, Body: "bad"}},
		ErrorCode: record.CodeFunctionStatus, Error: "502 upstream", Route: json.RawMessage(`{"path":"/f"}`),
	}
	if ok, err := s.Create(ctx, failed, []byte(`{}`)); err != nil || !ok {
		t.Fatalf("Create = %v, %v", ok, err)
	}
	got, err = s.Get(ctx, failed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != record.StatusFailed || got.Mode != "sync" || got.Attempts != 1 || got.ErrorCode != record.CodeFunctionStatus ||
		got.Error != "502 upstream" || got.Result == nil || got.Result.StatusCode != 502 || got.Result.Body != "bad" ||
		got.Result.Headers["X-A"][0] != "1" || string(got.Route) != `{"path":"/f"}` {
		t.Fatalf("recorded failure = %+v", got)
	}
}

// invocationsConcurrentCreate: many records created at once are all kept
// and listed.
func invocationsConcurrentCreate(t *testing.T, s Invocations) {
	ctx := context.Background()
	const n = 60
	parallel(t, n, func(i int) error {
		fn := "even"
		if i%2 == 1 {
			fn = "odd"
		}
		return s.CreateNew(ctx, newInvocation(fn), []byte(fmt.Sprintf(`{"n":%d}`, i)))
	})
	page, err := s.List(ctx, record.Filter{Limit: 500})
	if err != nil || len(page.Invocations) != n || page.NextCursor != "" {
		t.Fatalf("List = %d records (cursor %q), %v; want %d", len(page.Invocations), page.NextCursor, err, n)
	}
	if page, err := s.List(ctx, record.Filter{Function: "odd", Limit: 500}); err != nil || len(page.Invocations) != n/2 {
		t.Fatalf("List odd = %d records, %v; want %d", len(page.Invocations), err, n/2)
	}
}

// invocationsListing: newest first, a page at a time; a cursor neither
// repeats nor skips records created in the same millisecond; filters by
// function, status and time.
func invocationsListing(t *testing.T, s Invocations) {
	ctx := context.Background()
	// 25 records in the same millisecond (ties) and 5 later, two functions.
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var last string
	for i := range 30 {
		created := at
		if i >= 25 {
			created = at.Add(time.Duration(i) * time.Millisecond)
		}
		fn := "a"
		if i%3 == 0 {
			fn = "b"
		}
		inv := newInvocation(fn)
		inv.CreatedAt = created
		if err := s.CreateNew(ctx, inv, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		last = inv.ID
	}
	seen := map[string]bool{}
	f := record.Filter{Limit: 7}
	pages := 0
	var prev time.Time
	for pages < 10 {
		page, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, inv := range page.Invocations {
			if seen[inv.ID] {
				t.Fatalf("%s listed twice", inv.ID)
			}
			if !prev.IsZero() && inv.CreatedAt.After(prev) {
				t.Fatalf("not newest first: %v after %v", inv.CreatedAt, prev)
			}
			prev = inv.CreatedAt
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
		t.Fatalf("function b: %d records, %v; want 10", len(page.Invocations), err)
	}
	page, _ = s.List(ctx, record.Filter{Since: at.Add(time.Millisecond), Limit: 100})
	if len(page.Invocations) != 5 {
		t.Fatalf("since: %d records, want 5", len(page.Invocations))
	}
	page, _ = s.List(ctx, record.Filter{Until: at.Add(time.Millisecond), Limit: 100})
	if len(page.Invocations) != 25 {
		t.Fatalf("until (exclusive): %d records, want 25", len(page.Invocations))
	}
	page, _ = s.List(ctx, record.Filter{Status: record.StatusDead, Limit: 100})
	if len(page.Invocations) != 0 {
		t.Fatalf("status dead: %d records, want 0", len(page.Invocations))
	}
	if err := s.Dead(ctx, last, record.AttemptError{Attempt: 3, Code: "X", Error: "gone", At: time.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	page, _ = s.List(ctx, record.Filter{Status: record.StatusDead, Limit: 100})
	if len(page.Invocations) != 1 || page.Invocations[0].ID != last {
		t.Fatalf("status dead: %d records, want the one", len(page.Invocations))
	}
	if _, err := s.List(ctx, record.Filter{Cursor: "nonsense"}); err == nil {
		t.Fatal("bad cursor accepted")
	}
}

// invocationsTransitions: attempts start, fail, succeed; an attempt that a
// later one took over, or that comes after the end, is refused with
// ErrStale, and an ended invocation is not started again.
func invocationsTransitions(t *testing.T, s Invocations) {
	ctx := context.Background()
	inv := newInvocation("f")
	id := inv.ID
	if err := s.CreateNew(ctx, inv, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	take := func(inv *record.Invocation, lease time.Duration) (string, int) {
		t.Helper()
		st, n, err := s.Take(ctx, inv, []byte(`{}`), record.NewInvocationID(), lease, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return st, n
	}
	if st, n := take(inv, time.Minute); st != record.StatusRunning || n != 1 {
		t.Fatalf("Take = %q, %d", st, n)
	}
	if got, err := s.Get(ctx, id); err != nil || got.Status != record.StatusRunning || got.Attempts != 1 || got.StartedAt == nil {
		t.Fatalf("running record = %+v, %v", got, err)
	}
	next := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	if err := s.AttemptFailed(ctx, id, record.AttemptError{Attempt: 1, Code: record.CodeFunctionStatus, Status: 503, Error: "boom", At: time.Now()}, next); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, id)
	if err != nil || got.Status != record.StatusFailed || got.ErrorCode != record.CodeFunctionStatus || got.Error != "boom" ||
		got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(next) || len(got.AttemptErrors) != 1 || got.AttemptErrors[0].Status != 503 {
		t.Fatalf("failed record = %+v, %v", got, err)
	}
	// Attempt 2 runs; attempt 1, presumed lost, reports late and is refused.
	if st, n := take(inv, time.Minute); st != record.StatusRunning || n != 2 {
		t.Fatalf("Take (2) = %q, %d", st, n)
	}
	if got, _ := s.Get(ctx, id); got.NextAttemptAt != nil {
		t.Fatalf("running attempt 2 still has a next attempt: %+v", got)
	}
	if err := s.Succeed(ctx, id, 1, &record.Result{StatusCode: 200, Body: "zombie"}); !errors.Is(err, record.ErrStale) {
		t.Fatalf("stale Succeed = %v, want record.ErrStale", err)
	}
	if err := s.AttemptFailed(ctx, id, record.AttemptError{Attempt: 1, Code: "X"}, next); !errors.Is(err, record.ErrStale) {
		t.Fatalf("stale AttemptFailed = %v, want record.ErrStale", err)
	}
	if err := s.Succeed(ctx, id, 2, &record.Result{StatusCode: 200, Body: "ok"}); err != nil {
		t.Fatal(err)
	}
	// Ended: not started again (a redelivery after a lost ack), no more
	// transitions.
	if st, _ := take(inv, time.Minute); st != record.StatusSucceeded {
		t.Fatalf("Take after success = %q; want succeeded", st)
	}
	if err := s.Dead(ctx, id, record.AttemptError{Attempt: 3, Code: "X"}, 0); !errors.Is(err, record.ErrStale) {
		t.Fatalf("Dead after success = %v, want record.ErrStale", err)
	}
	if err := s.SetCallback(ctx, id, record.CallbackState{Status: "failed", Attempts: 2, Code: record.CodeCallbackTimeout, Error: "slow"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, id)
	if err != nil || got.Status != record.StatusSucceeded || got.Attempts != 2 || got.Result == nil || got.Result.Body != "ok" ||
		got.FinishedAt == nil || len(got.AttemptErrors) != 1 || got.Callback == nil || got.Callback.Code != record.CodeCallbackTimeout || got.Callback.Attempts != 2 {
		t.Fatalf("succeeded record = %+v, %v", got, err)
	}

	// Dead with attempt 0 (a delivery past the last attempt, whose worker
	// was lost) skips the attempt check.
	dead := newInvocation("f")
	if err := s.CreateNew(ctx, dead, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	take(dead, time.Minute)
	if err := s.Dead(ctx, dead.ID, record.AttemptError{Attempt: 3, Code: record.CodeWorkerLost, Error: "lost"}, 0); err != nil {
		t.Fatal(err)
	}
	if st, _ := take(dead, time.Minute); st != record.StatusDead {
		t.Fatalf("Take after dead = %q; want dead", st)
	}
	got, err = s.Get(ctx, dead.ID)
	if err != nil || got.Status != record.StatusDead || got.ErrorCode != record.CodeWorkerLost || got.FinishedAt == nil || len(got.AttemptErrors) != 1 {
		t.Fatalf("dead record = %+v, %v", got, err)
	}
}

// invocationsTake: taking an invocation without a record creates it from
// the message (the gateway writes none at accept); an attempt running
// under a live lease is busy and spends nothing; a lapsed lease counts
// the lost attempt (and ends the last one as lost); past its expiry an
// invocation is expired, without an attempt.
func invocationsTake(t *testing.T, s Invocations) {
	ctx := context.Background()
	created := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	inv := newInvocation("f")
	inv.MaxAttempts = 2
	inv.CreatedAt, inv.CallbackURL, inv.ReplayOf = created, "https://example.com/cb", record.NewInvocationID()
	take := func(owner string, lease time.Duration, expires time.Time) (string, int) {
		t.Helper()
		c := *inv
		st, n, err := s.Take(ctx, &c, []byte(`{"body":"x"}`), owner, lease, expires)
		if err != nil {
			t.Fatal(err)
		}
		return st, n
	}
	if st, n := take("a", time.Minute, time.Now().Add(time.Hour)); st != record.StatusRunning || n != 1 {
		t.Fatalf("first Take = %q, %d", st, n)
	}
	got, err := s.Get(ctx, inv.ID)
	if err != nil || got.Status != record.StatusRunning || got.Attempts != 1 || got.MaxAttempts != 2 || !got.CreatedAt.Equal(created) ||
		got.Function != "f" || got.CallbackURL != inv.CallbackURL || got.ReplayOf != inv.ReplayOf || got.LeaseUntil == nil || !got.Running(time.Now()) {
		t.Fatalf("taken record = %+v, %v", got, err)
	}
	if ev, err := s.Event(ctx, inv.ID); err != nil || string(ev) != `{"body":"x"}` {
		t.Fatalf("event = %s, %v", ev, err)
	}
	if page, err := s.List(ctx, record.Filter{Function: "f"}); err != nil || len(page.Invocations) != 1 || page.Invocations[0].ID != inv.ID {
		t.Fatalf("listing after Take = %+v, %v", page, err)
	}
	// Another delivery while the first runs: busy, nothing counted.
	if st, n := take("b", time.Minute, time.Time{}); st != "busy" || n != 1 {
		t.Fatalf("Take while running = %q, %d; want busy", st, n)
	}
	// The same taker again (its first answer was lost): its attempt.
	if st, n := take("a", time.Minute, time.Time{}); st != record.StatusRunning || n != 1 {
		t.Fatalf("Take repeated by its taker = %q, %d; want running 1", st, n)
	}
	if err := s.Renew(ctx, inv.ID, 2, time.Now()); !errors.Is(err, record.ErrStale) {
		t.Fatalf("Renew of another attempt = %v, want ErrStale", err)
	}
	// The lease lapses (its worker died): attempt 1 counts, 2 runs.
	if err := s.Renew(ctx, inv.ID, 1, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if st, n := take("c", -time.Second, time.Time{}); st != record.StatusRunning || n != 2 {
		t.Fatalf("Take after a lapsed lease = %q, %d; want running 2", st, n)
	}
	// Attempt 2 lapses too: it was the last.
	if st, n := take("d", time.Minute, time.Time{}); st != "lost" || n != 2 {
		t.Fatalf("Take after the last lease lapsed = %q, %d; want lost 2", st, n)
	}
	// Expiry: a fresh invocation past it is expired, with no attempt.
	old := newInvocation("f")
	st, n, err := s.Take(ctx, old, []byte(`{}`), "e", time.Minute, time.Now().Add(-time.Second))
	if err != nil || st != "expired" || n != 0 {
		t.Fatalf("Take past expiry = %q, %d, %v", st, n, err)
	}
	if got, err := s.Get(ctx, old.ID); err != nil || got.Status != record.StatusQueued || got.Attempts != 0 {
		t.Fatalf("expired record before Dead = %+v, %v", got, err)
	}
}

// invocationsReplayOnce: replay ids are derived, so concurrent replays of
// one invocation race for one id: exactly one creates it.
func invocationsReplayOnce(t *testing.T, s Invocations) {
	ctx := context.Background()
	orig := newInvocation("f")
	if err := s.CreateNew(ctx, orig, []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	replayID := record.ReplayID(orig.ID)
	const n = 8
	created := make(chan bool, n)
	parallel(t, n, func(int) error {
		replay := &record.Invocation{Summary: record.Summary{ID: replayID, Function: "f", Mode: "async"}, ReplayOf: orig.ID}
		ok, err := s.Create(ctx, replay, []byte(`{"n":1}`))
		created <- ok
		return err
	})
	close(created)
	wins := 0
	for ok := range created {
		if ok {
			wins++
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent replays created the record, want 1", wins, n)
	}
	if err := s.ReplayCreated(ctx, orig.ID, replayID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, orig.ID); err != nil || got.LastReplay != replayID {
		t.Fatalf("original = %+v, %v; want lastReplay %s", got, err, replayID)
	}
	got, err := s.Get(ctx, replayID)
	if err != nil || got.ReplayOf != orig.ID || got.Status != record.StatusQueued {
		t.Fatalf("replay = %+v, %v", got, err)
	}
	if ev, err := s.Event(ctx, replayID); err != nil || string(ev) != `{"n":1}` {
		t.Fatalf("replay event = %s, %v", ev, err)
	}
}

// invocationsUnknown: every operation on an unknown id reports
// ErrInvocationNotFound.
func invocationsUnknown(t *testing.T, s Invocations) {
	ctx := context.Background()
	id := record.NewInvocationID()
	if _, err := s.Get(ctx, id); !errors.Is(err, record.ErrInvocationNotFound) {
		t.Errorf("Get = %v", err)
	}
	if _, err := s.Event(ctx, id); !errors.Is(err, record.ErrInvocationNotFound) {
		t.Errorf("Event = %v", err)
	}
	if err := s.Renew(ctx, id, 1, time.Now()); !errors.Is(err, record.ErrStale) {
		t.Errorf("Renew = %v", err)
	}
	if err := s.Succeed(ctx, id, 1, &record.Result{StatusCode: 200}); !errors.Is(err, record.ErrInvocationNotFound) {
		t.Errorf("Succeed = %v", err)
	}
	if err := s.AttemptFailed(ctx, id, record.AttemptError{Attempt: 1, Code: "X"}, time.Now()); !errors.Is(err, record.ErrInvocationNotFound) {
		t.Errorf("AttemptFailed = %v", err)
	}
	if err := s.Dead(ctx, id, record.AttemptError{Attempt: 1, Code: "X"}, 0); !errors.Is(err, record.ErrInvocationNotFound) {
		t.Errorf("Dead = %v", err)
	}
	if page, err := s.List(ctx, record.Filter{}); err != nil || len(page.Invocations) != 0 || page.Invocations == nil {
		t.Errorf("List of an empty store = %+v, %v; want an empty, non-nil page", page, err)
	}
}

// invocationsSyncLost: a synchronous call that outlived its wait (taken
// by its worker under a lease, as worker/fallback.go does) whose lease
// lapsed without an outcome reads as dead with WORKER_LOST: no message
// will ever be redelivered to end it. While the lease is live it reads
// running.
func invocationsSyncLost(t *testing.T, s Invocations) {
	ctx := context.Background()
	inv := newInvocation("f")
	inv.Mode, inv.MaxAttempts = "sync", 1
	if st, n, err := s.Take(ctx, inv, nil, "w", 300*time.Millisecond, time.Time{}); err != nil || st != record.StatusRunning || n != 1 {
		t.Fatalf("Take = %q, %d, %v", st, n, err)
	}
	if got, err := s.Get(ctx, inv.ID); err != nil || got.Status != record.StatusRunning {
		t.Fatalf("under its lease = %+v, %v", got, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err := s.Get(ctx, inv.ID)
		if err == nil && got.Status == record.StatusDead && got.ErrorCode == record.CodeWorkerLost && got.LeaseUntil == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after its lease lapsed = %+v, %v; want dead WORKER_LOST", got, err)
		}
	}
}

// invocationsCancel: a cancel ends a waiting invocation at once (creating
// its record from its message when no worker took it), and a take then
// refuses it, so a worker that fetched its message runs nothing; a running
// one is marked, ends cancelled when its attempt reports it, and gets no
// further attempt even when its worker missed the cancel; an ended one
// keeps its status.
func invocationsCancel(t *testing.T, s Invocations) {
	ctx := context.Background()
	ev := []byte(`{"body":"x"}`)
	take := func(inv *record.Invocation, owner string) (string, int) {
		t.Helper()
		c := *inv
		st, n, err := s.Take(ctx, &c, ev, owner, time.Minute, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return st, n
	}
	cancel := func(id string, inv *record.Invocation, want string) {
		t.Helper()
		var c *record.Invocation
		if inv != nil {
			cp := *inv
			c = &cp
		}
		if st, err := s.Cancel(ctx, id, c, ev); err != nil || st != want {
			t.Fatalf("Cancel(%s) = %q, %v; want %q", id, st, err, want)
		}
	}
	status := func(id, want string, attempts int) {
		t.Helper()
		if got, err := s.Get(ctx, id); err != nil || got.Status != want || got.Attempts != attempts {
			t.Fatalf("record %s = %+v, %v; want %s after %d attempts", id, got, err, want, attempts)
		}
	}

	// Queued, never taken: the cancel writes the record; a take refuses it.
	queued := newInvocation("f")
	cancel(queued.ID, queued, record.StatusCancelled)
	status(queued.ID, record.StatusCancelled, 0)
	if st, _ := take(queued, "a"); st != record.StatusCancelled {
		t.Fatalf("Take of a cancelled invocation = %q", st)
	}
	cancel(queued.ID, nil, record.StatusCancelled) // again: the same

	// Running: marked; another delivery is still busy; the attempt ends it.
	running := newInvocation("f")
	take(running, "a")
	cancel(running.ID, nil, record.StatusCancelling)
	// Its worker learns of the cancel when it renews the lease too.
	if err := s.Renew(ctx, running.ID, 1, time.Now().Add(time.Minute)); !errors.Is(err, record.ErrCancelRequested) {
		t.Fatalf("Renew after the cancel = %v, want ErrCancelRequested", err)
	}
	if st, _ := take(running, "b"); st != "busy" {
		t.Fatalf("Take while the cancelled attempt runs = %q", st)
	}
	if err := s.Cancelled(ctx, running.ID, 1); err != nil {
		t.Fatal(err)
	}
	status(running.ID, record.StatusCancelled, 1)
	if err := s.Succeed(ctx, running.ID, 1, &record.Result{StatusCode: 200}); !errors.Is(err, record.ErrStale) {
		t.Fatalf("Succeed after the cancel = %v, want ErrStale", err)
	}

	// Its worker missed the cancel and the attempt failed: no next attempt.
	missed := newInvocation("f")
	take(missed, "a")
	cancel(missed.ID, nil, record.StatusCancelling)
	if err := s.AttemptFailed(ctx, missed.ID, record.AttemptError{Attempt: 1, Code: "X", At: time.Now()}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if st, _ := take(missed, "b"); st != record.StatusCancelled {
		t.Fatalf("Take after a cancelled failed attempt = %q", st)
	}
	status(missed.ID, record.StatusCancelled, 1)

	// Waiting for its next attempt: cancelled at once.
	waiting := newInvocation("f")
	take(waiting, "a")
	if err := s.AttemptFailed(ctx, waiting.ID, record.AttemptError{Attempt: 1, Code: "X", At: time.Now()}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cancel(waiting.ID, nil, record.StatusCancelled)
	status(waiting.ID, record.StatusCancelled, 1)

	// Ended: its status; unknown without a message: not found.
	ended := newInvocation("f")
	take(ended, "a")
	if err := s.Succeed(ctx, ended.ID, 1, &record.Result{StatusCode: 200}); err != nil {
		t.Fatal(err)
	}
	cancel(ended.ID, nil, record.StatusSucceeded)
	if _, err := s.Cancel(ctx, record.NewInvocationID(), nil, nil); !errors.Is(err, record.ErrInvocationNotFound) {
		t.Fatalf("Cancel of an unknown id = %v", err)
	}
}
