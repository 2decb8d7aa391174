package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/fngate/fngate/shared/event"
)

// Process supervision.
const (
	// A process that exits on its own sooner than healthyUptime after it
	// started is restarted only after a backoff delay.
	healthyUptime  = 10 * time.Second
	restartInitial = 100 * time.Millisecond
	restartMax     = 5 * time.Second
)

// function is the pool of processes of one function.
type function struct {
	rt   *Runtime
	name string
	dir  string
	uid  int    // user the processes run as; 0: the worker's
	home string // their HOME when uid is set

	cfgRaw  []byte                      // ConfigFile as last seen; pollChanges only
	loadErr atomic.Pointer[configError] // set while ConfigFile cannot be used

	mu       sync.Mutex
	lang     Language      // as last detected, when a process started
	run      *run          // its processes while started; nil while stopped
	changed  chan struct{} // closed and replaced whenever a slot changes
	active   int           // calls inside InvokeRaw: it is not idle
	removed  bool          // its folder is gone: it takes no new calls
	lastUsed time.Time     // when the last call ended

	gen atomic.Uint64 // bumped on every change to the function's files
	fp  uint64        // fingerprint of the files; pollChanges only
}

// run is one start of a function: its slots, supervised from the first
// call (or New, with Config.Preload) until it stops (idle, evicted) or the
// runtime closes.
type run struct {
	slots   []slot
	ctx     context.Context // ends when the run stops
	cancel  context.CancelFunc
	started time.Time
	cold    sync.Once      // the cold start is measured once
	wg      sync.WaitGroup // its supervisors
	stopped bool           // stopped on purpose; Runtime.mu
}

// slot is one supervised process position of a pool.
type slot struct {
	proc *proc // current process, from spawn until it has died; nil between
	// failing is set while the last process died before loading, so that
	// calls fail at once instead of waiting for a restart that will fail.
	failing bool
	settled chan struct{} // closed once the first process loaded or died
	once    sync.Once
}

func newFunction(r *Runtime, name, dir string, lang Language) *function {
	f := &function{rt: r, name: name, dir: dir, lang: lang, changed: make(chan struct{}), lastUsed: time.Now()}
	f.fp = fingerprint(dir)
	_, f.cfgRaw, _ = readConfig(dir)
	return f
}

func newRun(ctx context.Context, procs int) *run {
	rn := &run{slots: make([]slot, procs), started: time.Now()}
	rn.ctx, rn.cancel = context.WithCancel(ctx)
	for i := range rn.slots {
		rn.slots[i].settled = make(chan struct{})
	}
	return rn
}

// notify wakes acquire calls waiting for a change. f.mu must be held.
func (f *function) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (rn *run) settle(i int) {
	rn.slots[i].once.Do(func() { close(rn.slots[i].settled) })
}

// procs calls fn with each live process of f. f.mu must be held.
func (f *function) procs(fn func(*proc)) {
	if f.run != nil {
		f.procs0(f.run, fn)
	}
}

// acquire returns the ready process with the fewest invocations in flight,
// waiting for one while processes start.
func (f *function) acquire(ctx context.Context) (*proc, error) {
	for {
		f.mu.Lock()
		var best *proc
		failing := true
		if f.run == nil {
			f.mu.Unlock()
			return nil, errClosed // only Close stops a function with calls
		}
		for i := range f.run.slots {
			s := &f.run.slots[i]
			if !s.failing {
				failing = false
			}
			p := s.proc
			if p == nil || !p.usable() {
				continue
			}
			if best == nil || p.inflight.Load() < best.inflight.Load() {
				best = p
			}
		}
		changed := f.changed
		f.mu.Unlock()
		switch {
		case best != nil:
			return best, nil
		case f.rt.ctx.Err() != nil:
			return nil, errClosed
		case failing:
			if ce := f.loadErr.Load(); ce != nil {
				msg := "function " + f.name + " failed to load (see the worker log)"
				if f.rt.cfg.ExposeErrors {
					msg = "function " + f.name + ": " + ce.Error()
				}
				return nil, &event.Error{Code: event.CodeLoadError, Message: msg}
			}
			return nil, &event.Error{Code: event.CodeLoadError, Message: "function " + f.name + ": its process exits before loading (see worker logs)"}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, timeoutError(ctx, "no process of function "+f.name+" became ready")
		}
	}
}

// supervise keeps slot i of rn running a process until rn stops.
func (f *function) supervise(rn *run, i int) {
	defer f.rt.wg.Done()
	defer rn.wg.Done()
	defer rn.settle(i)
	log := f.rt.log
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(restartInitial),
		backoff.WithMaxInterval(restartMax),
		backoff.WithMaxElapsedTime(0),
	)
	for {
		p, err := f.spawn(rn, i)
		f.mu.Lock()
		closed := rn.ctx.Err() != nil // checked under f.mu, where stop cancels
		if err == nil && !closed {
			rn.slots[i].proc = p
			f.notify()
		}
		f.mu.Unlock()
		var ce *configError
		switch {
		case errors.As(err, &ce):
			// Logged as a function that does not load; it is retried with
			// backoff, so a fixed file is picked up.
			if f.loadErr.Swap(ce) == nil {
				log.Error("function failed to load", "function", f.name, "dir", f.dir, "err", ce.Error())
			}
		case err == nil:
			f.loadErr.Store(nil)
		}
		if err != nil {
			if ce == nil {
				log.Error("cannot start function process", "function", f.name, "err", err)
			}
			f.mu.Lock()
			rn.slots[i].failing = true
			f.notify()
			f.mu.Unlock()
			rn.settle(i)
		} else {
			if closed {
				p.kill("", "function stopped")
			}
			<-p.dead
			f.mu.Lock()
			rn.slots[i].proc = nil
			rn.slots[i].failing = !p.ready.Load()
			f.notify()
			f.mu.Unlock()
			rn.settle(i)
		}
		if rn.ctx.Err() != nil {
			return
		}
		if err == nil && f.rt.cfg.OnRestart != nil {
			f.rt.cfg.OnRestart(f.name, p.restartCause())
		}
		var delay time.Duration
		switch {
		case err == nil && p.killed.Load() && p.ready.Load():
			// We killed it (a timeout): its replacement is needed now.
		case err == nil && time.Since(p.started) >= healthyUptime:
			b.Reset()
		default:
			delay = b.NextBackOff()
			log.Warn("restarting "+f.language().Name()+" process after backoff", "function", f.name, "delay", delay.String())
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-rn.ctx.Done():
				t.Stop()
				return
			}
		}
	}
}

// language returns the language of f's processes.
func (f *function) language() Language {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lang
}

// killAll kills every process of f and wakes the calls waiting for one.
func (f *function) killAll(reason string) { f.restartAll("", reason) }

// restartAll kills every process of f, which its supervisors replace (unless
// the runtime closes), with cause as their Restart* kind.
func (f *function) restartAll(cause, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs(func(p *proc) { p.kill(cause, reason) })
	f.notify()
}

// reload tells every process of f to load the function again.
func (f *function) reload() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs(func(p *proc) { p.out.send(frameReload, 0, 0, nil) })
}

// every runs fn every d until the runtime closes, on a goroutine of r.wg.
func (r *Runtime) every(d time.Duration, fn func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-r.ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// pollChanges follows the function folders that come and go, and reloads
// the functions whose files changed.
func (r *Runtime) pollChanges() {
	for _, f := range r.rescan() {
		fp := fingerprint(f.dir)
		if fp == f.fp {
			continue
		}
		f.fp = fp
		f.gen.Add(1)
		// The environment is fixed when a process starts: a new one
		// needs new processes.
		if _, raw, _ := readConfig(f.dir); !bytes.Equal(raw, f.cfgRaw) {
			f.cfgRaw = raw
			r.log.Info("function settings changed, restarting its processes", "function", f.name, "file", ConfigFile)
			f.restartAll(RestartConfig, ConfigFile+" changed")
			continue
		}
		r.log.Info("function changed, reloading", "function", f.name)
		f.reload()
	}
}

// rescan adds the function folders that appeared in the directory and
// removes those gone, tells the worker r follows, and returns the
// functions.
func (r *Runtime) rescan() []*function {
	found, err := discover(r.cfg.Dir, quiet)
	r.mu.Lock()
	var added, removed []string
	if err == nil { // a directory gone for a moment changes nothing
		seen := make(map[string]bool, len(found))
		for _, d := range found {
			seen[d.name] = true
			if r.fns[d.name] != nil {
				continue
			}
			if _, err := r.addFunction(d); err != nil {
				r.log.Error("cannot add function", "function", d.name, "err", err)
				continue
			}
			added = append(added, d.name)
		}
		for n, f := range r.fns {
			if !seen[n] {
				delete(r.fns, n)
				f.mu.Lock()
				f.removed = true
				f.mu.Unlock()
				r.stopLocked(f, "removed") // or at the end of its last call
				removed = append(removed, n)
			}
		}
	}
	if len(added)+len(removed) > 0 {
		r.names = slices.Sorted(maps.Keys(r.fns))
	}
	fns := make([]*function, 0, len(r.fns))
	for _, n := range r.names {
		fns = append(fns, r.fns[n])
	}
	r.mu.Unlock()
	if len(added)+len(removed) > 0 {
		slices.Sort(removed)
		r.log.Info("function folders changed", "dir", r.cfg.Dir, "added", added, "removed", removed)
		if w := r.follower.Load(); w != nil {
			r.apply(w, added, removed)
		}
	}
	return fns
}

// quiet discards what rescans would log again on every poll (folders
// skipped).
var quiet = slog.New(slog.DiscardHandler)

// fingerprint hashes the paths, sizes and modification times of the files of
// a function, and the modification time of its node_modules folder (which
// changes when a package is added or removed) without walking it. Hidden
// files and folders (.git, editor swap files) and Python's __pycache__ are
// skipped.
func fingerprint(dir string) uint64 {
	h := fnv.New64a()
	var buf [16]byte
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return nil // vanished while walking: the next poll sees the result
		}
		if strings.HasPrefix(d.Name(), ".") || d.IsDir() && d.Name() == "__pycache__" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		modules := d.IsDir() && d.Name() == "node_modules"
		if d.IsDir() && !modules {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		h.Write([]byte(path))
		binary.LittleEndian.PutUint64(buf[:8], uint64(info.Size()))
		binary.LittleEndian.PutUint64(buf[8:], uint64(info.ModTime().UnixNano()))
		h.Write(buf[:])
		if modules {
			return filepath.SkipDir
		}
		return nil
	})
	return h.Sum64()
}
