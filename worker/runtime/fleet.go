package runtime

import (
	"context"
	"slices"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/worker"
)

// Many functions, few processes: a function's processes start on its first
// call, stop after Config.IdleTimeout without calls, and Config.MaxProcs
// bounds the processes of all functions, the least recently used idle
// function making room for one that starts.

// begin marks a call of f as running, starting f's processes when they are
// stopped. A call that returns nil must be ended with end.
func (f *function) begin(ctx context.Context) error {
	f.mu.Lock()
	if f.removed {
		f.mu.Unlock()
		return &event.Error{Code: event.CodeLoadError, Message: "function " + f.name + " was removed from " + f.rt.cfg.Dir}
	}
	f.active++
	running := f.run != nil
	f.mu.Unlock()
	if running {
		return nil
	}
	if err := f.rt.start(ctx, f); err != nil {
		f.end()
		return err
	}
	return nil
}

// end marks a call of f as finished.
func (f *function) end() {
	f.mu.Lock()
	f.active--
	f.lastUsed = time.Now()
	idle := f.active == 0
	removed := f.removed
	f.mu.Unlock()
	if idle && removed {
		// Drained: its last call ended.
		f.rt.mu.Lock()
		f.rt.stopLocked(f, "removed")
		f.rt.mu.Unlock()
		return
	}
	if idle && f.rt.waiters.Load() > 0 {
		// A start waits for room: f may now be evicted.
		f.rt.mu.Lock()
		f.rt.notifyRoom()
		f.rt.mu.Unlock()
	}
}

// notifyRoom wakes the starts waiting for room. r.mu must be held.
func (r *Runtime) notifyRoom() {
	close(r.room)
	r.room = make(chan struct{})
}

// start starts the processes of f unless they run, waiting within ctx for
// room under MaxProcs, made by evicting the least recently used idle
// function.
func (r *Runtime) start(ctx context.Context, f *function) error {
	procs := r.cfg.Procs
	r.mu.Lock()
	for {
		f.mu.Lock()
		running := f.run != nil
		f.mu.Unlock()
		switch {
		case running:
			r.mu.Unlock()
			return nil
		case r.ctx.Err() != nil:
			r.mu.Unlock()
			return errClosed
		case r.cfg.MaxProcs <= 0 || r.live+procs <= r.cfg.MaxProcs:
			r.startLocked(f)
			r.mu.Unlock()
			return nil
		}
		// Evict only when what is already stopping will not make room.
		if r.live-r.stopping+procs > r.cfg.MaxProcs {
			if v := r.leastRecentlyUsedIdle(); v != nil && r.stopLocked(v, "evicted") {
				continue
			}
		}
		room := r.room
		r.waiters.Add(1)
		r.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
		}
		r.waiters.Add(-1)
		if ctx.Err() != nil {
			return timeoutError(ctx, "no process of function "+f.name+" could start under the worker's process limit")
		}
		r.mu.Lock()
	}
}

// startLocked starts the supervisors of a new run of f. r.mu must be held.
func (r *Runtime) startLocked(f *function) *run {
	procs := r.cfg.Procs
	rn := newRun(r.ctx, procs)
	r.live += procs
	f.mu.Lock()
	f.run = rn
	f.notify()
	f.mu.Unlock()
	rn.wg.Add(procs)
	r.wg.Add(procs + 1)
	for i := range procs {
		go f.supervise(rn, i)
	}
	// Its processes count against MaxProcs until they are gone.
	go func() {
		defer r.wg.Done()
		rn.wg.Wait()
		r.mu.Lock()
		r.live -= procs
		if rn.stopped {
			r.stopping -= procs
		}
		r.notifyRoom()
		r.mu.Unlock()
	}()
	return rn
}

// stopLocked stops the processes of f if it has no call running, and
// reports whether it did. r.mu must be held.
func (r *Runtime) stopLocked(f *function, why string) bool {
	f.mu.Lock()
	rn := f.run
	if rn == nil || f.active > 0 {
		f.mu.Unlock()
		return false
	}
	f.run = nil
	// Cancelled under f.mu: a supervisor that spawned meanwhile sees it
	// before it records its process.
	rn.cancel()
	f.procs0(rn, func(p *proc) { p.kill("", "function "+why) })
	f.notify()
	lang := f.lang.Name()
	f.mu.Unlock()
	rn.stopped = true
	r.stopping += len(rn.slots)
	r.log.Info("function stopped", "function", f.name, "runtime", lang, "reason", why)
	return true
}

// procs0 calls fn with each live process of rn. f.mu must be held.
func (f *function) procs0(rn *run, fn func(*proc)) {
	for i := range rn.slots {
		if p := rn.slots[i].proc; p != nil {
			fn(p)
		}
	}
}

// leastRecentlyUsedIdle returns the started function without calls that
// was used the longest ago, or nil. r.mu must be held.
func (r *Runtime) leastRecentlyUsedIdle() *function {
	var lru *function
	var at time.Time
	for _, f := range r.fns {
		f.mu.Lock()
		ok := f.run != nil && f.active == 0 && (lru == nil || f.lastUsed.Before(at))
		if ok {
			lru, at = f, f.lastUsed
		}
		f.mu.Unlock()
	}
	return lru
}

// reapIdle stops the functions without calls for IdleTimeout.
func (r *Runtime) reapIdle() {
	now := time.Now()
	r.mu.Lock()
	for _, f := range r.fns {
		f.mu.Lock()
		idle := f.run != nil && f.active == 0 && now.Sub(f.lastUsed) >= r.cfg.IdleTimeout
		f.mu.Unlock()
		if idle {
			r.stopLocked(f, "idle")
		}
	}
	r.mu.Unlock()
}

// coldStarted records how long f took from its start to its first process
// ready.
func (r *Runtime) coldStarted(f *function, lang string, d time.Duration) {
	r.log.Info("function cold start", "function", f.name, "runtime", lang, "seconds", d.Seconds())
	if r.cfg.OnColdStart != nil {
		r.cfg.OnColdStart(f.name, lang, d)
	}
}

// Follow has w serve the functions of r as their folders come and go
// (checked every Config.ReloadInterval): each function of r that w does not
// serve yet is added now, a folder that appears is added to w
// (worker.Worker.Add), and one that goes is drained from w
// (worker.Worker.Remove), its calls already running finishing before its
// processes stop.
func (r *Runtime) Follow(ctx context.Context, w *worker.Worker) error {
	// Following first: a folder added meanwhile is added by the poller or
	// below, whichever comes second finding it there.
	r.follower.Store(w)
	have := map[string]bool{}
	for _, n := range w.Functions() {
		have[n] = true
	}
	for _, n := range r.Functions() {
		if !have[n] {
			if err := w.Add(ctx, n, r.Handler(n), r.options()...); err != nil && !slices.Contains(w.Functions(), n) {
				return err
			}
		}
	}
	return nil
}

// options are the worker options of r's functions.
func (r *Runtime) options() []worker.Option {
	return []worker.Option{worker.WithConcurrency(r.cfg.Concurrency), worker.Concurrent()}
}

// followTimeout bounds how long a folder removed waits for its calls.
const followTimeout = 30 * time.Second

// apply adds and removes functions on w.
func (r *Runtime) apply(w *worker.Worker, added, removed []string) {
	ctx, cancel := context.WithTimeout(r.ctx, followTimeout)
	defer cancel()
	for _, n := range removed {
		if err := w.Remove(ctx, n); err != nil {
			r.log.Error("cannot drain removed function", "function", n, "err", err)
		}
	}
	for _, n := range added {
		if err := w.Add(ctx, n, r.Handler(n), r.options()...); err != nil {
			r.log.Error("cannot serve added function", "function", n, "err", err)
		}
	}
}
