// Package presence defines the heartbeat workers publish on
// subject.Heartbeat so that gateways know which functions have live
// workers, and how loaded they are.
package presence

import "time"

// Heartbeat is one worker's announcement.
type Heartbeat struct {
	WorkerID  string     `json:"workerId"`
	Host      string     `json:"host"`
	Functions []Function `json:"functions"`
	// TTL is how long the heartbeat holds; a worker not heard from for
	// that long is gone. Leaving is set by a worker that is draining.
	TTL     time.Duration `json:"ttl"`
	Leaving bool          `json:"leaving,omitempty"`
	// Code is the deployed code of the functions this worker serves from
	// the code store (PUT /admin/functions/<name>/code), one each.
	Code []Code `json:"code,omitempty"`
}

// Function is one function's load in one worker.
// Counters at zero are left out of the JSON (an idle function is its name
// and concurrency): with 1,000 functions on each worker, most of them idle
// at any moment, that keeps heartbeats a third of their size.
type Function struct {
	Name        string `json:"name"`
	InFlight    int64  `json:"inflight,omitempty"`
	Concurrency int    `json:"concurrency"`
	// RecentOK and RecentErrors count the invocations (sync and async
	// attempts) this worker finished in the last 60 seconds (the current
	// second and the 59 before it), successes and failures (an error code:
	// the function failed, panicked or timed out; for async, a 429 or 5xx
	// too). RecentAvgMillis is their mean duration, 0 with none.
	RecentOK        int64   `json:"recentOk,omitempty"`
	RecentErrors    int64   `json:"recentErrors,omitempty"`
	RecentAvgMillis float64 `json:"recentAvgMs,omitempty"`
}
