package worker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Dispatch of sync invocations.
//
// Spawning a goroutine per invocation costs little on its own, but on a
// busy machine it spreads each request over more goroutines and threads,
// and replies published from many goroutines batch into fewer socket writes
// than replies published from the one goroutine that reads the
// invocations. So a function whose calls are quick runs them inline: one
// loop takes invocations off the subscription's channel and runs each in
// turn. Two guards keep a slow call from holding up the calls queued behind
// it:
//
//   - handoff: a call still running after handoffAfter hands the channel
//     to a new loop, and its own loop ends with the call;
//   - mode: a function whose recent calls take longer than inlineMax on
//     average (an exponentially weighted mean) has each call spawned in its
//     own goroutine, as do functions registered with [Concurrent].
//
// Either way a function never runs more than its concurrency at once.
const (
	handoffAfter = 2 * time.Millisecond
	inlineMax    = 250 * time.Microsecond
	// queueLen bounds the invocations waiting in this worker for one
	// function; beyond it NATS drops them as a slow consumer and their
	// callers time out.
	queueLen = 1 << 16
)

// Concurrent makes every invocation of the function start in its own
// goroutine at once: for handlers that mostly wait, such as the Node.js
// runtime's, whose calls overlap.
func Concurrent() Option { return func(f *function) { f.concurrent = true } }

// dispatcher feeds one function's sync invocations to its handler.
type dispatcher struct {
	ch       chan *nats.Msg
	stop     chan struct{} // closed once no more invocations can arrive
	stopOnce sync.Once
	mean     atomic.Int64 // weighted mean duration of recent calls, ns
}

func newDispatcher() *dispatcher {
	return &dispatcher{ch: make(chan *nats.Msg, queueLen), stop: make(chan struct{})}
}

// close lets the loops end once the channel is empty.
func (d *dispatcher) close() { d.stopOnce.Do(func() { close(d.stop) }) }

// record adds a call's duration to the mean (weight 1/8; races between
// loops lose an update, which a mean can afford).
func (d *dispatcher) record(took time.Duration) {
	m := d.mean.Load()
	d.mean.Store(m + (int64(took)-m)/8)
}

// closeDispatchers lets every function's loops end once their channels
// are empty.
func (w *Worker) closeDispatchers() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.fns {
		if f.disp != nil {
			f.disp.close()
		}
	}
}

// startLoop starts a loop serving f's channel.
func (w *Worker) startLoop(f *function) {
	w.wg.Add(1)
	go w.loop(f)
}

// Each loop owns one count of w.wg, released when it ends.

// loop serves f's channel until it is closed and empty, or until a slow
// call in it handed the channel to another loop.
func (w *Worker) loop(f *function) {
	defer w.wg.Done()
	d := f.disp
	for {
		var m *nats.Msg
		select {
		case m = <-d.ch:
		case <-d.stop:
			select {
			case m = <-d.ch:
			default:
				return
			}
		}
		if f.concurrent || time.Duration(d.mean.Load()) > inlineMax {
			w.spawn(f, func() { w.serve(f, m) })
			continue
		}
		f.sem <- struct{}{}
		f.inflight.Add(1)
		// The loop that may take over is counted before its timer is armed,
		// so Drain never sees the count reach zero between the two.
		w.wg.Add(1)
		handoff := time.AfterFunc(handoffAfter, func() { w.loop(f) })
		w.serve(f, m)
		handed := !handoff.Stop()
		<-f.sem
		f.inflight.Add(-1)
		if handed {
			return // the new loop serves the channel
		}
		w.wg.Done() // no new loop: release its count
	}
}
