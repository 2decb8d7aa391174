package worker

import (
	"sync"
	"time"
)

// RecentWindow is the span of the recent stats in worker heartbeats
// (presence.Function.RecentOK and the rest): sixty one-second buckets, the
// current one still filling, so between 59 and 60 seconds of invocations.
const RecentWindow = 60 * time.Second

const recentBuckets = int64(RecentWindow / time.Second)

// recent counts one function's outcomes and time spent over RecentWindow,
// in a ring of one-second buckets. Recording is one short critical section
// and allocates nothing; reading (once per heartbeat) sums the ring.
type recent struct {
	mu      sync.Mutex
	buckets [recentBuckets]bucket
}

type bucket struct {
	sec      int64 // the Unix second counted, or 0 if never used
	ok, errs int64
	nanos    int64 // summed durations
}

// add records one invocation that ended at now after d.
func (r *recent) add(now time.Time, d time.Duration, ok bool) {
	sec := now.Unix()
	r.mu.Lock()
	b := &r.buckets[sec%recentBuckets]
	if b.sec != sec { // a bucket last used a full window ago
		*b = bucket{sec: sec}
	}
	if ok {
		b.ok++
	} else {
		b.errs++
	}
	b.nanos += int64(d)
	r.mu.Unlock()
}

// stats sums the invocations that ended within RecentWindow of now: how
// many succeeded, how many failed, and their mean duration in ms.
func (r *recent) stats(now time.Time) (ok, errs int64, avgMillis float64) {
	sec := now.Unix()
	var nanos int64
	r.mu.Lock()
	for i := range r.buckets {
		b := &r.buckets[i]
		if age := sec - b.sec; age >= 0 && age < recentBuckets {
			ok += b.ok
			errs += b.errs
			nanos += b.nanos
		}
	}
	r.mu.Unlock()
	if n := ok + errs; n > 0 {
		avgMillis = float64(nanos) / float64(n) / 1e6
	}
	return ok, errs, avgMillis
}
