package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// Config configures a Runtime. Only Dir is required.
type Config struct {
	// Dir holds one folder per function: <Dir>/<name>/index.js, with an
	// optional package.json and node_modules beside it. Folder names must
	// be valid function names; others are skipped.
	Dir string
	// Node is the node binary, looked up in PATH. Default "node".
	Node string
	// Python is the python3 binary, looked up in PATH. Default "python3".
	Python string
	// Procs is the number of long-lived Node processes per function.
	// Default 1.
	Procs int
	// Concurrency is how many invocations of one function a worker should
	// run at once: pass it to worker.WithConcurrency. One process runs many
	// invocations concurrently. Default 64.
	Concurrency int
	// MaxOldSpaceMB is each process's --max-old-space-size. Default 256.
	MaxOldSpaceMB int
	// ExposeErrors puts the message of an error a function throws into the
	// failed reply. By default it is only logged.
	ExposeErrors bool
	// ReloadInterval is how often the files of each function (not its
	// node_modules) are checked for edits. Default 1s; negative disables.
	ReloadInterval time.Duration
	// ProbeGrace is how long a process has to answer a ping through its
	// event loop after one of its invocations passed its deadline. If it
	// answers, its event loop is free (the function's promise just never
	// settled): the invocation is abandoned and the process keeps serving
	// the others. If not, its event loop is blocked (a busy loop): it is
	// killed and replaced. Default 1s.
	ProbeGrace time.Duration
	// OnRestart, when set, is called each time a process of function is
	// replaced, with why (one of the Restart* reasons): the worker counts
	// them (fngate_worker_node_restarts_total, through
	// worker.Worker.NodeRestarted). It runs on the runtime's supervisor
	// goroutine and must return quickly.
	OnRestart func(function, reason string)
	// Environ is the environment functions get variables from: those
	// BaseEnv names and those PassEnv names, nothing else. Default
	// os.Environ(). Each function adds its own in its ConfigFile.
	Environ []string
	// PassEnv names further variables of Environ that functions get
	// (FNGATE_FUNCTION_ENV). FNGATE_* names are refused.
	PassEnv []string
	// UID, when not 0, runs the processes of the functions as this user,
	// with the group of the same number and no supplementary groups; the
	// worker must run as root, and the functions' folders must be readable
	// by that user. With UIDPerFunction, the functions in name order run as
	// UID, UID+1, ... HOME is then a folder of the function's user (0700),
	// made at New and removed at Close.
	UID            int
	UIDPerFunction bool
	// IdleTimeout stops the processes of a function without calls for this
	// long; its next call starts them again. Default 10m; negative: never.
	IdleTimeout time.Duration
	// MaxProcs bounds the processes of all functions together: a function
	// that starts when there is no room stops the least recently used
	// function without calls, or waits (within its call's deadline) for
	// one. Default 64; negative: no bound.
	MaxProcs int
	// Preload starts every function's processes at New (as many as
	// MaxProcs allows, in name order) instead of at its first call.
	Preload bool
	// OnColdStart, when set, is called each time a function started (its
	// first call, or New with Preload) has a process ready, with how long
	// that took: the worker measures them
	// (fngate_worker_cold_start_seconds, through
	// worker.Worker.ColdStarted). It must return quickly.
	OnColdStart func(function, runtime string, d time.Duration)
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	hooks *hooks // tests only; nil in production
}

// Why a process was replaced, as Config.OnRestart reports it.
const (
	// RestartExit: the process exited on its own (process.exit, a crash,
	// out of memory).
	RestartExit = "exit"
	// RestartUnresponsive: a call timed out and the event loop did not
	// answer a ping within ProbeGrace (a busy loop), so it was killed.
	RestartUnresponsive = "unresponsive"
	// RestartLoadTimeout: the function did not load within 15s of the
	// process starting (top-level code that never finishes).
	RestartLoadTimeout = "load_timeout"
	// RestartProtocol: the process broke the frame protocol or its pipe.
	RestartProtocol = "protocol"
	// RestartConfig: the function's ConfigFile changed; new processes get
	// its new environment.
	RestartConfig = "config"
)

// Defaults.
const (
	DefaultNode           = "node"
	DefaultPython         = "python3"
	DefaultProcs          = 1
	DefaultConcurrency    = 64
	DefaultMaxOldSpaceMB  = 256
	DefaultReloadInterval = time.Second
	DefaultProbeGrace     = time.Second
	DefaultIdleTimeout    = 10 * time.Minute
	DefaultMaxProcs       = 64

	// A process that has not loaded its function this long after it
	// started (top-level code that never finishes) is killed.
	defaultLoadTimeout = 15 * time.Second
)

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.Node = cmp.Or(c.Node, DefaultNode)
	c.Python = cmp.Or(c.Python, DefaultPython)
	c.Procs = cmp.Or(c.Procs, DefaultProcs)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.MaxOldSpaceMB = cmp.Or(c.MaxOldSpaceMB, DefaultMaxOldSpaceMB)
	c.ReloadInterval = cmp.Or(c.ReloadInterval, DefaultReloadInterval)
	c.ProbeGrace = cmp.Or(c.ProbeGrace, DefaultProbeGrace)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxProcs = cmp.Or(c.MaxProcs, DefaultMaxProcs)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.Environ == nil {
		c.Environ = os.Environ()
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Dir == "":
		return errors.New("node: Dir is required")
	case c.Procs < 1:
		return fmt.Errorf("node: Procs %d must be at least 1", c.Procs)
	case c.Concurrency < 1:
		return fmt.Errorf("node: Concurrency %d must be at least 1", c.Concurrency)
	case c.MaxOldSpaceMB < 16:
		return fmt.Errorf("node: MaxOldSpaceMB %d must be at least 16", c.MaxOldSpaceMB)
	case c.MaxProcs > 0 && c.MaxProcs < c.Procs:
		return fmt.Errorf("node: MaxProcs %d must be at least Procs %d", c.MaxProcs, c.Procs)
	case c.ProbeGrace < 0:
		return fmt.Errorf("node: ProbeGrace %s must not be negative", c.ProbeGrace)
	case c.UID < 0 || c.UID > maxUID:
		return fmt.Errorf("node: UID %d out of range 0 to %d", c.UID, maxUID)
	case c.UID > 0 && !canSetUID():
		return fmt.Errorf("node: UID %d needs the worker to run as root on Linux or another Unix", c.UID)
	}
	for _, n := range c.PassEnv {
		if err := checkEnvName(n); err != nil {
			return fmt.Errorf("node: PassEnv: %w", err)
		}
	}
	return nil
}

// Runtime hosts the Node.js functions of one directory, each in its own pool
// of long-lived Node processes.
type Runtime struct {
	cfg    Config
	homes  string // parent of the functions' HOME folders when cfg.UID is set
	log    *slog.Logger
	fns    map[string]*function
	names  []string
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // supervisors, the reload poller, the idle reaper
	once   sync.Once

	mu       sync.Mutex    // before any function.mu
	live     int           // processes of started functions, dying ones included
	stopping int           // of those, the ones of functions stopped
	room     chan struct{} // closed and replaced when live falls or a function becomes idle
	waiters  atomic.Int32  // starts waiting for room
	added    int           // functions ever added, for UIDPerFunction

	follower atomic.Pointer[worker.Worker] // see Follow
	polling  sync.Mutex                    // one pollChanges at a time (Refresh)
}

// New checks that node is installed and at least version 18, discovers the
// functions in cfg.Dir and starts their processes. It returns once every
// process has loaded its function or failed to start, or when ctx ends.
// Close the Runtime to stop them.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("node: functions dir: %w", err)
	}
	cfg.Dir = dir
	found, err := discover(dir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	versions, err := checkLanguages(ctx, cfg, found)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(found))
	for i, d := range found {
		names[i] = d.name
	}
	// A function running as the worker's user must not read the worker's
	// credentials from /proc/<worker pid>/environ.
	protectSelf()
	rctx, cancel := context.WithCancel(context.Background())
	r := &Runtime{cfg: cfg, log: cfg.Logger, fns: make(map[string]*function, len(names)), names: names, ctx: rctx, cancel: cancel, room: make(chan struct{})}
	if cfg.UID > 0 {
		if r.homes, err = os.MkdirTemp("", "fngate-home-"); err == nil {
			err = os.Chmod(r.homes, 0o711) // users reach their own folder only
		}
		if err != nil {
			cancel()
			return nil, fmt.Errorf("node: HOME folders of the functions: %w", err)
		}
	}
	for _, d := range found {
		if _, err := r.addFunction(d); err != nil {
			cancel()
			_ = os.RemoveAll(r.homes)
			return nil, err
		}
	}
	if cfg.ReloadInterval > 0 {
		r.every(cfg.ReloadInterval, r.Refresh)
	}
	if cfg.IdleTimeout > 0 {
		r.every(min(max(cfg.IdleTimeout/4, 10*time.Millisecond), time.Second), r.reapIdle)
	}
	r.log.Info("function runtime started", "versions", versions, "dir", dir, "functions", len(names), "procs", cfg.Procs, "max_procs", cfg.MaxProcs, "idle_timeout", cfg.IdleTimeout.String(), "preload", cfg.Preload, "uid", cfg.UID, "uid_per_function", cfg.UIDPerFunction)
	if cfg.Preload {
		if err := r.preload(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// preload starts the functions' processes, as many as MaxProcs allows, and
// waits until each has loaded its function or failed to start.
func (r *Runtime) preload(ctx context.Context) error {
	var runs []*run
	r.mu.Lock()
	for _, n := range r.names {
		if r.cfg.MaxProcs > 0 && r.live+r.cfg.Procs > r.cfg.MaxProcs {
			r.log.Warn("not every function preloaded: the worker's process limit is reached", "max_procs", r.cfg.MaxProcs)
			break
		}
		runs = append(runs, r.startLocked(r.fns[n]))
	}
	r.mu.Unlock()
	for i, rn := range runs {
		for j := range rn.slots {
			select {
			case <-rn.slots[j].settled:
			case <-ctx.Done():
				_ = r.Close()
				return fmt.Errorf("node: waiting for function %s to load: %w", r.names[i], ctx.Err())
			}
		}
	}
	return nil
}

// checkLanguages checks the interpreter of each language a function found
// uses (Node.js when there are none: the default) and returns their
// versions, by language.
func checkLanguages(ctx context.Context, cfg Config, found []discovered) (map[string]string, error) {
	used := map[string]Language{}
	for _, d := range found {
		used[d.lang.Name()] = d.lang
	}
	if len(used) == 0 {
		used[RuntimeNode] = nodeLang{}
	}
	versions := make(map[string]string, len(used))
	for name, l := range used {
		v, err := l.Check(ctx, cfg)
		if err != nil {
			return nil, err
		}
		versions[name] = v
	}
	return versions, nil
}

// discovered is a function folder and its language.
type discovered struct {
	name string
	lang Language
}

// discover returns the function folders in dir, sorted by name.
func discover(dir string, log *slog.Logger) ([]discovered, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("node: functions dir: %w", err)
	}
	var found []discovered
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n := e.Name()
		if !subject.ValidFunction(n) {
			log.Warn("skipping folder: not a valid function name", "dir", dir, "folder", n, "want", "[a-z0-9][a-z0-9_-]{0,63}")
			continue
		}
		if d, ok := discoverOne(dir, n, log); ok {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		log.Warn("no functions found", "dir", dir)
	}
	slices.SortFunc(found, func(a, b discovered) int { return cmp.Compare(a.name, b.name) })
	return found, nil
}

// discoverOne reports whether folder n of dir holds a function, and its
// language. A ConfigFile that cannot be read does not hide the function: it
// then fails to load, with the file's error.
func discoverOne(dir, n string, log *slog.Logger) (discovered, bool) {
	fdir := filepath.Join(dir, n)
	l, err := detect(fdir)
	var ce *configError
	if errors.As(err, &ce) {
		for _, c := range languages {
			if c.Entry(fdir) != "" {
				return discovered{n, c}, true
			}
		}
		err = errNoEntry
	}
	if err != nil {
		log.Warn("skipping folder: "+err.Error(), "dir", dir, "folder", n)
		return discovered{}, false
	}
	return discovered{n, l}, true
}

// addFunction adds discovered function d. r.mu must be held, or r not yet
// shared.
func (r *Runtime) addFunction(d discovered) (*function, error) {
	f := newFunction(r, d.name, filepath.Join(r.cfg.Dir, d.name), d.lang)
	if r.cfg.UID > 0 {
		f.uid = r.cfg.UID
		if r.cfg.UIDPerFunction {
			f.uid += r.added // one user each, also for folders added later
		}
		var err error
		if f.home, err = r.makeHome(d.name, f.uid); err != nil {
			return nil, err
		}
	}
	r.added++
	r.fns[d.name] = f
	return f, nil
}

// makeHome makes the HOME folder of function name, owned by uid.
func (r *Runtime) makeHome(name string, uid int) (string, error) {
	home := filepath.Join(r.homes, name)
	err := os.Mkdir(home, 0o700)
	if err == nil {
		err = os.Chown(home, uid, uid)
	}
	if err != nil {
		return "", fmt.Errorf("node: HOME of function %s: %w", name, err)
	}
	return home, nil
}

// Functions returns the names of the functions found, sorted.
func (r *Runtime) Functions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.names)
}

// Concurrency returns what to pass to worker.WithConcurrency for each
// function of r.
func (r *Runtime) Concurrency() int { return r.cfg.Concurrency }

// Handler returns the handler of function name. It implements
// worker.RawHandler. A name that was not found answers every call with
// FUNCTION_LOAD_ERROR.
func (r *Runtime) Handler(name string) sdk.Handler {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &handler{rt: r, name: name, fn: r.fns[name]}
}

// Close kills every process and waits until all have exited. Invocations
// still running fail with FUNCTION_ERROR.
func (r *Runtime) Close() error {
	r.once.Do(func() {
		r.cancel()
		r.mu.Lock()
		for _, f := range r.fns {
			f.killAll("runtime closed")
		}
		r.mu.Unlock()
		r.wg.Wait()
		if r.homes != "" {
			_ = os.RemoveAll(r.homes)
		}
		r.log.Info("function runtime stopped", "dir", r.cfg.Dir)
	})
	return nil
}

var errClosed = &event.Error{Code: event.CodeFunctionError, Message: "function runtime closed"}
