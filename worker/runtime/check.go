package runtime

import (
	"context"
	"errors"
	"fmt"
)

// Refresh looks at the function folders now, as the poller does every
// Config.ReloadInterval: folders added are served (and added to the
// worker r follows), removed ones drained, changed ones reloaded. A
// deploy calls it right after it put a new version in place.
func (r *Runtime) Refresh() {
	r.polling.Lock()
	defer r.polling.Unlock()
	r.pollChanges()
}

// CheckLoad loads function name from folder dir/name once, in a process of
// its own started with cfg's settings (interpreters, environment, user),
// and returns why it cannot be loaded, or nil when it loaded. The process
// is gone when it returns. A deploy checks a version this way before it
// replaces the one that serves.
func CheckLoad(ctx context.Context, cfg Config, dir, name string) error {
	cfg.Dir, cfg.Procs, cfg.Preload = dir, 1, true
	cfg.ReloadInterval, cfg.IdleTimeout, cfg.MaxProcs = -1, -1, -1
	cfg.OnRestart, cfg.OnColdStart = nil, nil
	cfg.UIDPerFunction = false
	r, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	r.mu.Lock()
	f := r.fns[name]
	r.mu.Unlock()
	if f == nil {
		return fmt.Errorf("function %s: %w", name, errNoEntry)
	}
	if ce := f.loadErr.Load(); ce != nil {
		return ce
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.run == nil || len(f.run.slots) == 0:
		return errors.New("its process did not start")
	case f.run.slots[0].failing:
		return errors.New("its process exits before loading (see the worker log)")
	case f.run.slots[0].proc != nil && f.run.slots[0].proc.loadErr != "":
		return errors.New(f.run.slots[0].proc.loadErr)
	}
	return nil
}
