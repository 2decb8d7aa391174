// Package gctune sets the garbage collector's default for fngate's
// binaries.
//
// A gateway or worker allocates quickly (an event, a reply, NATS and HTTP
// buffers per request) but keeps a small live heap (the route table,
// connections, pools). With Go's default GOGC=100 it then collects many
// times a second, and on a busy machine that collection costs a measurable
// share of every request. A higher target trades a few tens of MB of heap for
// that CPU: see the README's performance notes for the measurement.
package gctune

import (
	"os"
	"runtime/debug"
)

// DefaultPercent is the GC target fngate's binaries run with unless GOGC is
// set.
const DefaultPercent = 400

// Apply sets the GC target to DefaultPercent unless the GOGC environment
// variable is set, in which case the runtime has already applied it. It
// returns the percent in effect (-1 for GOGC=off).
func Apply() int {
	if _, set := os.LookupEnv("GOGC"); set {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(DefaultPercent)
	return DefaultPercent
}
