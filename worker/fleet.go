package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/worker/sdk"
)

// Functions that come and go while the worker serves: a function folder
// added to or removed from a runtime's directory.

// Add serves function name from now on: Handle, on a started worker too,
// where it subscribes at once (and consumes its queued invocations when the
// worker does async work).
func (w *Worker) Add(ctx context.Context, name string, h sdk.Handler, opts ...Option) error {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if !started || !w.Serves(name) {
		// A worker that starts meanwhile subscribes to it below.
		if err := w.Handle(name, h, opts...); !errors.Is(err, errHandleAfterStart) {
			return err
		}
	}
	f, err := w.newFunction(name, h, opts)
	if err != nil {
		return err
	}
	w.mu.Lock()
	if _, dup := w.fns[name]; dup {
		w.mu.Unlock()
		return fmt.Errorf("worker: function %s registered twice", name)
	}
	if err := w.subscribe(f); err != nil {
		w.mu.Unlock()
		return err
	}
	w.fns[name] = f
	if stop := w.stopAsync; stop != nil {
		w.startConsumer(f, stop)
	}
	w.mu.Unlock()
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.nc.FlushWithContext(fctx); err != nil {
		return fmt.Errorf("worker: flush subscription of %s: %w", name, err)
	}
	w.log.Info("function added", "function", name, "runtime", f.runtime)
	return nil
}

// startConsumer consumes f's queued invocations until stop closes or f
// is removed. w.mu must be held.
func (w *Worker) startConsumer(f *function, stop <-chan struct{}) {
	fstop := make(chan struct{})
	f.consumed = make(chan struct{})
	go func() {
		select {
		case <-stop:
		case <-f.unserve:
		}
		close(fstop)
	}()
	w.consumers.Go(func() {
		defer close(f.consumed)
		w.consume(f, fstop)
	})
}

// Remove stops serving function name: its subscription drains, and the
// invocations it already received run to the end. Its async consumer stops
// pulling (the invocations it holds run to the end; those it has not
// taken stay queued for the workers that still serve the function).
func (w *Worker) Remove(ctx context.Context, name string) error {
	w.mu.Lock()
	f := w.fns[name]
	delete(w.fns, name)
	var consumed chan struct{}
	if f != nil {
		close(f.unserve)
		consumed = f.consumed
	}
	w.mu.Unlock()
	if consumed != nil {
		select {
		case <-consumed:
		case <-ctx.Done():
			return fmt.Errorf("worker: stop consuming %s: %w", name, ctx.Err())
		}
	}
	if f == nil || f.sub == nil {
		return nil
	}
	if err := f.sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("worker: drain %s: %w", name, err)
	}
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for f.sub.IsValid() {
		select {
		case <-poll.C:
		case <-ctx.Done():
			f.disp.close()
			return fmt.Errorf("worker: drain %s: %w", name, ctx.Err())
		}
	}
	f.disp.close()
	w.log.Info("function removed", "function", name)
	return nil
}
