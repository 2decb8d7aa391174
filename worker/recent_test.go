package worker

import (
	"testing"
	"time"
)

func TestRecentWindow(t *testing.T) {
	t.Parallel()
	var r recent
	t0 := time.Unix(1_800_000_000, 0)
	check := func(at time.Time, wantOK, wantErrs int64, wantAvg float64) {
		t.Helper()
		ok, errs, avg := r.stats(at)
		if ok != wantOK || errs != wantErrs || avg != wantAvg {
			t.Fatalf("stats at +%s = %d ok, %d errors, %.3f ms; want %d, %d, %.3f", at.Sub(t0), ok, errs, avg, wantOK, wantErrs, wantAvg)
		}
	}
	check(t0, 0, 0, 0)
	r.add(t0, 10*time.Millisecond, true)
	r.add(t0.Add(500*time.Millisecond), 30*time.Millisecond, false)
	r.add(t0.Add(30*time.Second), 20*time.Millisecond, true)
	check(t0.Add(30*time.Second), 2, 1, 20)
	// The first second leaves the window 60s on; the 30s one stays.
	check(t0.Add(59*time.Second+999*time.Millisecond), 2, 1, 20)
	check(t0.Add(60*time.Second), 1, 0, 20)
	// Reusing the first second's bucket a window later starts it afresh.
	r.add(t0.Add(60*time.Second), 40*time.Millisecond, false)
	check(t0.Add(60*time.Second), 1, 1, 30)
	check(t0.Add(95*time.Second), 0, 1, 40)
	check(t0.Add(120*time.Second), 0, 0, 0)
	// A reading from a clock behind the buckets ignores the future ones.
	check(t0.Add(-time.Second), 0, 0, 0)
}

func TestRecentAddAllocatesNothing(t *testing.T) {
	var r recent
	now := time.Now()
	if n := testing.AllocsPerRun(1000, func() { r.add(now, time.Millisecond, true) }); n != 0 {
		t.Fatalf("add allocates %.0f times", n)
	}
}

func BenchmarkRecentAdd(b *testing.B) {
	b.ReportAllocs()
	var r recent
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.add(time.Now(), time.Millisecond, true)
		}
	})
}
