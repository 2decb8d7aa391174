package runtime

import (
	"context"
	"time"
)

// Many functions, few processes: a function's processes start on its first
// call, stop after Config.IdleTimeout without calls, and Config.MaxProcs
// bounds the processes of all functions, the least recently used idle
// function making room for one that starts.

// begin marks a call of f as running, starting f's processes when they are
// stopped. A call that returns nil must be ended with end.
func (f *function) begin(ctx context.Context) error {
	f.mu.Lock()
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
	f.mu.Unlock()
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

// reapIdle stops the functions without calls for IdleTimeout, until the
// runtime closes.
func (r *Runtime) reapIdle() {
	defer r.wg.Done()
	every := min(max(r.cfg.IdleTimeout/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
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
}

// coldStarted records how long f took from its start to its first process
// ready.
func (r *Runtime) coldStarted(f *function, lang string, d time.Duration) {
	r.log.Info("function cold start", "function", f.name, "runtime", lang, "seconds", d.Seconds())
	if r.cfg.OnColdStart != nil {
		r.cfg.OnColdStart(f.name, lang, d)
	}
}
