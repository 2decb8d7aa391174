package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/record"
)

// TestIdempotency checks idempotency keys: one claim wins, the stored
// response is replayed, a release frees only its own running claim, a
// lease ends, and a completion without a claim is lost.
func TestIdempotency(t *testing.T, newStore func(t *testing.T) Idempotency) {
	run(t, newStore, idemClaimCompleteReplay, idemOneClaimWins, idemManyKeys, idemRelease, idemLeaseEnds)
}

func idemClaimCompleteReplay(t *testing.T, s Idempotency) {
	ctx := context.Background()
	if rec, err := s.Claim(ctx, "r", "k", "fp", time.Minute); err != nil || rec != nil {
		t.Fatalf("first Claim = %+v, %v; want nil (ours)", rec, err)
	}
	// While it runs, others see the claim and its fingerprint (a
	// different request with the same key is told apart by it).
	for _, fp := range []string{"fp", "other"} {
		rec, err := s.Claim(ctx, "r", "k", fp, time.Minute)
		if err != nil || rec == nil || rec.State != record.IdemRunning || rec.Fingerprint != "fp" {
			t.Fatalf("Claim(%s) of a running key = %+v, %v", fp, rec, err)
		}
	}
	// The same scope on another route is another key.
	if rec, err := s.Claim(ctx, "r2", "k", "fp", time.Minute); err != nil || rec != nil {
		t.Fatalf("Claim on another route = %+v, %v; want nil", rec, err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "X-Many": {"1", "2"}}
	if err := s.Complete(ctx, "r", "k", "fp", 201, h, []byte("line 1\nline 2")); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Claim(ctx, "r", "k", "fp", time.Minute)
	if err != nil || rec == nil || rec.State != record.IdemDone || rec.Fingerprint != "fp" || rec.Status != 201 ||
		rec.Header.Get("Content-Type") != "application/json" || len(rec.Header.Values("X-Many")) != 2 || string(rec.Body) != "line 1\nline 2" {
		t.Fatalf("Claim of a completed key = %+v, %v", rec, err)
	}
	// A completion for a key nobody holds (its lease ended) is lost.
	if err := s.Complete(ctx, "r", "never-claimed", "fp", 200, nil, nil); !errors.Is(err, record.ErrIdemLost) {
		t.Fatalf("Complete without a claim = %v, want record.ErrIdemLost", err)
	}
}

// idemOneClaimWins: of concurrent claims of one key, exactly one owns it.
func idemOneClaimWins(t *testing.T, s Idempotency) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	var firstErr error
	for range n {
		wg.Go(func() {
			rec, err := s.Claim(ctx, "r", "same", "fp", time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				firstErr = err
			case rec == nil:
				won++
			default:
				lost++
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("%d claims won and %d lost, want 1 and %d", won, lost, n-1)
	}
}

// idemManyKeys: many keys claimed and completed at once.
func idemManyKeys(t *testing.T, s Idempotency) {
	ctx := context.Background()
	const n = 60
	parallel(t, n, func(i int) error {
		key := fmt.Sprint("key-", i)
		rec, err := s.Claim(ctx, "route", key, "fp", time.Minute)
		if err == nil && rec != nil {
			err = fmt.Errorf("fresh key %d already claimed: %+v", i, rec)
		}
		if err == nil {
			err = s.Complete(ctx, "route", key, "fp", 201, http.Header{"X-N": {fmt.Sprint(i)}}, []byte("done"))
		}
		return err
	})
	rec, err := s.Claim(ctx, "route", "key-5", "fp", time.Minute)
	if err != nil || rec == nil || rec.State != record.IdemDone || rec.Status != 201 || rec.Header.Get("X-N") != "5" || string(rec.Body) != "done" {
		t.Fatalf("claim of a completed key = %+v, %v", rec, err)
	}
}

// idemRelease: a request that failed on the gateway's side frees its
// claim so the client's retry runs; it cannot free another request's
// claim or a stored response.
func idemRelease(t *testing.T, s Idempotency) {
	ctx := context.Background()
	if rec, err := s.Claim(ctx, "r", "k", "fp", time.Minute); err != nil || rec != nil {
		t.Fatalf("Claim = %+v, %v", rec, err)
	}
	if err := s.Release(ctx, "r", "k", "other"); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Claim(ctx, "r", "k", "fp", time.Minute); err != nil || rec == nil || rec.State != record.IdemRunning {
		t.Fatalf("Claim after another fingerprint's Release = %+v, %v; want still running", rec, err)
	}
	if err := s.Release(ctx, "r", "k", "fp"); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Claim(ctx, "r", "k", "fp", time.Minute); err != nil || rec != nil {
		t.Fatalf("Claim after Release = %+v, %v; want nil (free)", rec, err)
	}
	if err := s.Complete(ctx, "r", "k", "fp", 200, nil, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, "r", "k", "fp"); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Claim(ctx, "r", "k", "fp", time.Minute); err != nil || rec == nil || rec.State != record.IdemDone {
		t.Fatalf("Claim after releasing a completed key = %+v, %v; want done", rec, err)
	}
	if err := s.Release(ctx, "r", "nobody", "fp"); err != nil {
		t.Fatalf("Release of a free key = %v", err)
	}
}

// idemLeaseEnds: a claim whose holder never completes (a crashed gateway)
// is free again after its lease.
func idemLeaseEnds(t *testing.T, s Idempotency) {
	ctx := context.Background()
	if rec, err := s.Claim(ctx, "r", "k", "fp", 200*time.Millisecond); err != nil || rec != nil {
		t.Fatalf("Claim = %+v, %v", rec, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec, err := s.Claim(ctx, "r", "k", "fp2", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			return // free: ours now
		}
		if time.Now().After(deadline) {
			t.Fatalf("claim with a 200ms lease still held after 10s: %+v", rec)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
