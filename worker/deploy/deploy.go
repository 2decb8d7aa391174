// Package deploy has a worker serve the functions deployed through the
// gateway's admin API (PUT /admin/functions/<name>/code): it watches the
// code store (package codestore, in JetStream), fetches each function's
// current version, checks that it loads, and only then puts it in place of
// the version that serves, so a deploy or rollback needs no restart and no
// shared disk, and a version that does not load leaves the previous one
// serving.
package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/presence"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/runtime"
)

// Config configures a Deployer. Store is required.
type Config struct {
	Store *codestore.Store
	// Dir is where the code is unpacked (FNGATE_CODE_DIR): Dir/functions
	// holds the versions that serve, Dir/staging those being checked.
	// Default: a temporary folder, removed at Close.
	Dir string
	// Runtime is how the functions' processes run (Dir is ignored).
	Runtime runtime.Config
	// Limits bound what an archive may unpack to.
	Limits codestore.Limits
	// Checks is how many versions are checked at once (a process each).
	// Default 4.
	Checks int
	// CheckTimeout bounds the check of one version. Default 30s.
	CheckTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Deployer serves the deployed functions on one worker.
type Deployer struct {
	cfg     Config
	log     *slog.Logger
	w       *worker.Worker
	rt      *runtime.Runtime
	fnsDir  string
	staging string
	temp    bool // cfg.Dir was made by New: removed at Close

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	checks chan struct{}

	mu  sync.Mutex
	fns map[string]*state
}

// state is one deployed function on this worker.
type state struct {
	want *codestore.Function // the latest record not yet handled
	busy bool                // an install goroutine runs for it
	code presence.Code       // what it serves; install goroutine only
}

// New prepares the folders and the runtime of the deployed functions and
// has w serve them from now on: those deployed already and those to come.
// w must be started or start later; only the functions w serves (see
// worker.Config.Functions) are fetched.
func New(ctx context.Context, w *worker.Worker, cfg Config) (*Deployer, error) {
	if cfg.Store == nil {
		return nil, errors.New("deploy: Store is required")
	}
	cfg.Checks = cmp.Or(cfg.Checks, 4)
	cfg.CheckTimeout = cmp.Or(cfg.CheckTimeout, 30*time.Second)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	d := &Deployer{cfg: cfg, log: cfg.Logger, w: w, fns: map[string]*state{}, checks: make(chan struct{}, cfg.Checks)}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "fngate-code-")
		if err != nil {
			return nil, fmt.Errorf("deploy: code folder: %w", err)
		}
		d.cfg.Dir, d.temp = dir, true
	}
	d.fnsDir, d.staging = filepath.Join(d.cfg.Dir, "functions"), filepath.Join(d.cfg.Dir, "staging")
	// What an earlier run left is not known to be any version: start
	// empty, fetch again.
	for _, p := range []string{d.fnsDir, d.staging} {
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("deploy: code folder: %w", err)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("deploy: code folder: %w", err)
		}
	}
	rc := cfg.Runtime
	rc.Dir, rc.Preload, rc.Logger = d.fnsDir, false, d.log
	rt, err := runtime.New(ctx, rc)
	if err != nil {
		d.removeTemp()
		return nil, err
	}
	d.rt = rt
	if err := rt.Follow(ctx, w); err != nil {
		_ = rt.Close()
		d.removeTemp()
		return nil, err
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	updates, err := cfg.Store.Watch(d.ctx)
	if err != nil {
		d.cancel()
		_ = rt.Close()
		d.removeTemp()
		return nil, err
	}
	d.wg.Go(func() {
		for f := range updates {
			d.offer(f)
		}
	})
	return d, nil
}

// Close stops following the store and stops the deployed functions'
// processes; drain the worker first.
func (d *Deployer) Close() error {
	d.cancel()
	d.wg.Wait()
	err := d.rt.Close()
	d.removeTemp()
	return err
}

func (d *Deployer) removeTemp() {
	if d.temp {
		_ = os.RemoveAll(d.cfg.Dir)
	}
}

// offer hands function f's latest record to its install goroutine,
// starting one when none runs: installs of one function happen in order,
// of different functions at once, and a record that a newer one replaced
// before it was handled is skipped.
func (d *Deployer) offer(f *codestore.Function) {
	if !d.w.Serves(f.Name) {
		return
	}
	d.mu.Lock()
	s := d.fns[f.Name]
	if s == nil {
		s = &state{code: presence.Code{Function: f.Name}}
		d.fns[f.Name] = s
	}
	s.want = f
	if s.busy {
		d.mu.Unlock()
		return
	}
	s.busy = true
	d.mu.Unlock()
	d.wg.Go(func() {
		for {
			d.mu.Lock()
			f := s.want
			s.want = nil
			if f == nil || d.ctx.Err() != nil {
				s.busy = false
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			d.install(s, f)
		}
	})
}

// install makes f's current version the one that serves, unless it
// serves already or failed already.
func (d *Deployer) install(s *state, f *codestore.Function) {
	v := f.Version(f.Current)
	if v == nil || v.Version == s.code.Version || v.Version == s.code.Failed {
		return
	}
	select {
	case d.checks <- struct{}{}:
	case <-d.ctx.Done():
		return
	}
	defer func() { <-d.checks }()
	start := time.Now()
	log := d.log.With("function", f.Name, "version", v.Version)
	if err := d.put(f.Name, v); err != nil {
		if d.ctx.Err() != nil {
			return
		}
		log.Error("deployed version not served: it does not load", "err", err, "serving", s.code.Version)
		s.code.Failed, s.code.LoadError = v.Version, err.Error()
	} else {
		log.Info("deployed version serving", "previous", s.code.Version, "seconds", time.Since(start).Seconds())
		s.code = presence.Code{Function: f.Name, Version: v.Version}
	}
	d.w.SetCode(s.code)
}

// put fetches, unpacks and checks version v of function name, then puts it
// in place of the one serving.
func (d *Deployer) put(name string, v *codestore.Version) error {
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.CheckTimeout)
	defer cancel()
	if !d.ours(name) {
		return fmt.Errorf("function %s is served from the worker's own folder (FNGATE_FUNCTIONS_DIR), which wins", name)
	}
	data, err := d.cfg.Store.Archive(ctx, v)
	if err != nil {
		return err
	}
	stage, err := os.MkdirTemp(d.staging, name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	root, err := codestore.Extract(data, filepath.Join(stage, "unpacked"), d.cfg.Limits)
	if err != nil {
		return err
	}
	dir := filepath.Join(stage, name)
	if err := os.Rename(root, dir); err != nil {
		return err
	}
	if err := runtime.CheckLoad(ctx, d.checkConfig(), stage, name); err != nil {
		return err
	}
	// The folder of the version serving and the new one trade places at
	// once: the runtime never sees the function gone (which would drain
	// it), and the old files go with stage.
	if err := swap(dir, filepath.Join(d.fnsDir, name)); err != nil {
		return fmt.Errorf("deploy: put %s in place: %w", name, err)
	}
	d.rt.Refresh()
	return nil
}

// ours reports whether function name is served from d's folder, or by
// nobody on this worker yet.
func (d *Deployer) ours(name string) bool {
	if _, err := os.Stat(filepath.Join(d.fnsDir, name)); err == nil {
		return true
	}
	for _, n := range d.w.Functions() {
		if n == name {
			return false
		}
	}
	return true
}

// checkConfig is the runtime configuration of the load checks.
func (d *Deployer) checkConfig() runtime.Config {
	rc := d.cfg.Runtime
	rc.Logger = d.log.With("check", true)
	return rc
}
