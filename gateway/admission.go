package gateway

import (
	"errors"
	"io"
	"sync/atomic"
)

// ErrOverloaded answers a public request that would take the gateway past
// MaxInflight requests or MaxInflightBytes of request bodies.
var ErrOverloaded = errors.New("the gateway is at capacity; retry later")

// admission bounds what public requests hold at once: how many are being
// served and how many body bytes they hold. It takes no lock: entering and
// leaving are one atomic add each, so the hot path pays no mutex per
// request. A request that finds a limit reached undoes its add and is
// refused; one that overshoots for an instant refuses another, never lets
// the total settle above the limit.
type admission struct {
	maxReqs, maxBytes int64
	reqs, bytes       atomic.Int64
}

func (a *admission) enter() bool {
	if a.reqs.Add(1) > a.maxReqs {
		a.reqs.Add(-1)
		return false
	}
	return true
}

func (a *admission) leave() { a.reqs.Add(-1) }

// reserve takes n body bytes from the budget, or nothing and false.
func (a *admission) reserve(n int64) bool {
	if a.bytes.Add(n) > a.maxBytes {
		a.bytes.Add(-n)
		return false
	}
	return true
}

func (a *admission) release(n int64) {
	if n != 0 {
		a.bytes.Add(-n)
	}
}

// errBodyBudget stops reading a body of unknown length (chunked) when the
// budget runs out; readBody answers it as ErrOverloaded.
var errBodyBudget = errors.New("request body budget exhausted")

// budgetReader reserves the bytes of a body of unknown length as they
// arrive. n is what it holds; its reader releases it.
type budgetReader struct {
	r io.Reader
	a *admission
	n int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		if !b.a.reserve(int64(n)) {
			return 0, errBodyBudget
		}
		b.n += int64(n)
	}
	return n, err
}
