// Package gctune sets the garbage collector's default for fngate's
// binaries.
//
// A gateway or worker allocates quickly (an event, a reply, NATS and HTTP
// buffers per request) but usually keeps a small live heap (connections,
// pools, a route table). With Go's default GOGC=100 it then collects many
// times a second, and on a busy machine that collection costs a measurable
// share of every request. A higher target trades a few tens of MB of heap for
// that CPU: see the README's performance notes for the measurement.
//
// A fixed ratio does not suit a live heap that can be large, though: a
// gateway holding 100,000 routes (some 30 MB) would grow to five times
// that between collections at GOGC=400. So the target is a headroom, not a
// ratio: after each collection the percent is set so that the heap may
// grow by DefaultHeadroom past what is live, within MinPercent and
// DefaultPercent. A small heap runs at GOGC=400 as before; a large one
// collects as often as a small one does (every DefaultHeadroom bytes
// allocated) and stays near its live size.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// DefaultPercent is the GC target fngate's binaries run with unless GOGC is
// set, while the live heap is at most DefaultHeadroom/4.
const DefaultPercent = 400

// DefaultHeadroom is how far the heap may grow past the live heap between
// collections, unless GOGC is set.
const DefaultHeadroom = 32 << 20

// MinPercent is the lowest target the headroom sets: a live heap above
// 100*DefaultHeadroom/MinPercent grows by this ratio.
const MinPercent = 50

// Apply sets the GC target to DefaultPercent, and then after each
// collection to the percent that leaves DefaultHeadroom, unless the GOGC
// environment variable is set, in which case the runtime has already
// applied it. It returns the percent in effect (-1 for GOGC=off).
func Apply() int {
	if _, set := os.LookupEnv("GOGC"); set {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(DefaultPercent)
	armHeadroom()
	return DefaultPercent
}

// percentFor is the percent that leaves DefaultHeadroom above live bytes.
func percentFor(live uint64) int {
	if live == 0 {
		return DefaultPercent
	}
	return int(min(max(100*DefaultHeadroom/live, MinPercent), DefaultPercent))
}

// sentinel is garbage whose finalizer runs after each collection (the
// runtime's only hook there): it sets the percent for the live heap just
// measured and arms a new sentinel for the next one.
type sentinel struct{ _ [16]byte }

func armHeadroom() {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			debug.SetGCPercent(percentFor(sample[0].Value.Uint64()))
		}
		armHeadroom()
	})
}
