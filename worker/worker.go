package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/presence"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/worker/sdk"
)

// Config configures a Worker. The zero value is usable.
type Config struct {
	// Concurrency is the default number of invocations of one function that
	// run at once in this worker; more wait in the worker's queue. Default 64.
	Concurrency int
	// DrainTimeout bounds how long Drain waits for in-flight invocations.
	// Default 30s.
	DrainTimeout time.Duration
	// HeartbeatInterval is how often the worker announces its functions and
	// load to gateways (GET /admin/functions). Default 2s.
	HeartbeatInterval time.Duration
	// Functions, when not empty, are the only functions this worker
	// serves (FNGATE_FUNCTIONS): names or path.Match patterns ("img-*"),
	// so that a pool of workers scales for a group of functions. Handle
	// and Add skip the others. Default: every function.
	Functions []string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.Concurrency = cmp.Or(c.Concurrency, 64)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, 30*time.Second)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, 2*time.Second)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c
}

func (c Config) validate() error {
	if c.Concurrency < 1 {
		return fmt.Errorf("worker: Concurrency %d must be at least 1", c.Concurrency)
	}
	if c.DrainTimeout < 0 {
		return fmt.Errorf("worker: DrainTimeout %s must not be negative", c.DrainTimeout)
	}
	return validPatterns(c.Functions)
}

// Option configures one function.
type Option func(*function)

// WithConcurrency sets how many invocations of the function run at once in
// this worker.
func WithConcurrency(n int) Option { return func(f *function) { f.concurrency = n } }

type function struct {
	name        string
	handler     sdk.Handler
	concurrency int
	runtime     string // metrics label: RuntimeGo or the handler's RuntimeName
	sem         chan struct{}
	sub         *nats.Subscription
	disp        *dispatcher // sync invocations, see dispatch.go
	concurrent  bool        // spawn every sync invocation (Concurrent)
	inflight    atomic.Int64
	recent      recent // outcomes over RecentWindow, for heartbeats
	// unserve is closed by Remove; consumed, when its async consumer was
	// started, once that consumer stopped (see fleet.go).
	unserve  chan struct{}
	consumed chan struct{}
}

// Worker serves functions over NATS.
type Worker struct {
	nc  *nats.Conn
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	fns     map[string]*function
	started bool
	wg      sync.WaitGroup // in-flight invocations

	metrics *metrics
	id      string
	beats   chan struct{} // closed to stop heartbeats
	beating sync.WaitGroup

	async     *AsyncConfig
	callbacks *callbacks
	stopAsync chan struct{}
	consumers sync.WaitGroup
	// code is the deployed code of each function (see code.go).
	codeMu sync.Mutex
	code   map[string]presence.Code

	// running maps the id of each async invocation this worker holds to
	// the cancel of its attempt's context (see cancel.go).
	running sync.Map
}

// New returns a worker on nc. The caller owns nc.
func New(nc *nats.Conn, cfg Config) (*Worker, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	w := &Worker{nc: nc, cfg: cfg, log: cfg.Logger, fns: make(map[string]*function), id: newWorkerID()}
	w.metrics = newMetrics(w)
	return w, nil
}

// errHandleAfterStart: Handle on a started worker (Add serves then).
var errHandleAfterStart = errors.New("worker: Handle after Start")

// Handle registers h as function name. It must be called before Start.
func (w *Worker) Handle(name string, h sdk.Handler, opts ...Option) error {
	if !w.Serves(name) {
		w.log.Debug("function not served by this worker (Config.Functions)", "function", name)
		return nil
	}
	f, err := w.newFunction(name, h, opts)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errHandleAfterStart
	}
	if _, dup := w.fns[name]; dup {
		return fmt.Errorf("worker: function %s registered twice", name)
	}
	w.fns[name] = f
	return nil
}

// newFunction checks and builds function name.
func (w *Worker) newFunction(name string, h sdk.Handler, opts []Option) (*function, error) {
	if !subject.ValidFunction(name) {
		return nil, fmt.Errorf("worker: %w: %q", subject.ErrInvalidFunction, name)
	}
	f := &function{name: name, handler: h, concurrency: w.cfg.Concurrency, runtime: RuntimeGo, unserve: make(chan struct{})}
	if rn, ok := h.(RuntimeNamer); ok {
		f.runtime = rn.RuntimeName()
	}
	for _, o := range opts {
		o(f)
	}
	if f.concurrency < 1 {
		return nil, fmt.Errorf("worker: function %s: concurrency %d must be at least 1", name, f.concurrency)
	}
	return f, nil
}

// Functions returns the names of the registered functions.
func (w *Worker) Functions() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, 0, len(w.fns))
	for n := range w.fns {
		names = append(names, n)
	}
	return names
}

// Start subscribes every function to its queue group and returns once the
// server has registered the subscriptions.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("worker: started twice")
	}
	w.started = true
	for _, f := range w.fns {
		if err := w.subscribe(f); err != nil {
			return err
		}
	}
	if w.async != nil {
		stop := make(chan struct{})
		w.stopAsync = stop
		for _, f := range w.fns {
			w.startConsumer(f, stop)
		}
	}
	beats := make(chan struct{})
	w.beats = beats
	w.beating.Go(func() { w.beat(beats) })
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.nc.FlushWithContext(fctx); err != nil {
		return fmt.Errorf("worker: flush subscriptions: %w", err)
	}
	w.log.Info("worker serving", "functions", len(w.fns))
	return nil
}

// subscribe subscribes f to its queue group and starts its loop.
func (w *Worker) subscribe(f *function) error {
	subj, _ := subject.Invoke(f.name)
	queue, _ := subject.QueueGroup(f.name)
	f.sem = make(chan struct{}, f.concurrency)
	f.disp = newDispatcher()
	sub, err := w.nc.ChanQueueSubscribe(subj, queue, f.disp.ch)
	if err != nil {
		return fmt.Errorf("worker: subscribe %s: %w", f.name, err)
	}
	f.sub = sub
	w.startLoop(f)
	return nil
}

// spawn runs one invocation of f (sync or async: they share f's limit) in
// its own goroutine, so a slow call never holds up the calls queued behind
// it. It blocks its caller, the delivery goroutine, while f is at its
// concurrency limit, so excess invocations wait in this worker.
func (w *Worker) spawn(f *function, run func()) {
	f.sem <- struct{}{}
	f.inflight.Add(1)
	w.wg.Add(1)
	go func() {
		defer func() {
			<-f.sem
			f.inflight.Add(-1)
			w.wg.Done()
		}()
		run()
	}()
}

// InFlight returns how many invocations of function are running here.
func (w *Worker) InFlight(function string) int64 {
	w.mu.Lock()
	f := w.fns[function]
	w.mu.Unlock()
	if f == nil {
		return 0
	}
	return f.inflight.Load()
}

func (w *Worker) serve(f *function, m *nats.Msg) {
	start := time.Now()
	call := event.ParseCall(m.Header)
	reqID, deadline := call.RequestID, call.Deadline
	ctx := sdk.WithInfo(context.Background(), sdk.Info{RequestID: reqID, FunctionName: f.name, TraceParent: call.TraceParent})
	if !deadline.IsZero() {
		if !deadline.After(start) {
			// The caller has given up; running the function would be waste.
			w.log.Warn("invocation arrived after its deadline", "request_id", reqID, "function", f.name)
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	if w.log.Enabled(ctx, slog.LevelDebug) {
		w.log.Debug("invocation started", "request_id", reqID, "function", f.name)
	}
	fb := w.startFallback(f, &call, m.Data, start)
	// A caller that may get 202 or holds an idempotency key takes a
	// stream whole, as async invocations do.
	reply, sr := w.invoke(ctx, f, m.Data, reqID, m.Reply != "" && fb == nil && !call.Collect)
	if sr != nil {
		w.observe(f, "sync", w.serveStream(ctx, f, m, deadline, sr), start)
		return
	}
	// Recorded after the reply has left: a reply just before the wait's
	// end must not miss its caller for a Redis round trip.
	defer w.endFallback(f, fb, reply)
	outcome := "ok"
	if code := event.ErrorCode(reply); code != "" {
		outcome = code
	}
	w.observe(f, "sync", outcome, start)
	if m.Reply == "" {
		return
	}
	if max := w.nc.MaxPayload(); int64(len(reply.Data))+4096 > max {
		reply = event.ErrorMsg(&event.Error{Code: event.CodeInvalidResponse, Message: fmt.Sprintf("response of %d bytes exceeds NATS max_payload %d", len(reply.Data), max)})
		w.log.Error("function response too large", "request_id", reqID, "function", f.name)
	}
	if err := m.RespondMsg(reply); err != nil {
		w.log.Error("reply failed", "request_id", reqID, "function", f.name, "err", err)
	}
}

// observe records an invocation of f that ran since start, in the metrics
// and in the recent stats of heartbeats. Outcome "ok" is a success; any
// other (an error code) a failure.
func (w *Worker) observe(f *function, mode, outcome string, start time.Time) {
	now := time.Now()
	d := now.Sub(start)
	w.metrics.observe(f.name, f.runtime, mode, outcome, d)
	f.recent.add(now, d, outcome == "ok")
	if mode == "sync" && f.disp != nil {
		f.disp.record(d) // picks inline or spawned dispatch
	}
}

// invoke runs the handler and turns its outcome into a reply message, or,
// when the caller can take one (streams), returns the stream the handler
// returned for serveStream to send.
func (w *Worker) invoke(ctx context.Context, f *function, data []byte, reqID string, streams bool) (*nats.Msg, *sdk.StreamResponse) {
	res, err := w.handle(ctx, f, data)
	var reply *event.Reply
	if err == nil {
		if sr, ok := res.(*sdk.StreamResponse); ok {
			if streams {
				return nil, sr
			}
			reply, err = w.collect(ctx, sr, int(w.nc.MaxPayload()))
		} else {
			reply, err = event.FromGo(res)
		}
	}
	if err == nil {
		return reply.Msg(), nil
	}
	fe := errorOf(ctx, err)
	w.log.Error("function failed", "request_id", reqID, "function", f.name, "code", fe.Code, "err", fe.Message)
	return event.ErrorMsg(fe), nil
}

// run executes f on an event and returns the HTTP response it chose (a
// stream's body concatenated). The error is the handler's own (see
// errorOf), so callers can tell permanent failures and retry hints apart.
func (w *Worker) run(ctx context.Context, f *function, data []byte) (*event.Reply, error) {
	res, err := w.handle(ctx, f, data)
	if err != nil {
		return nil, err
	}
	if sr, ok := res.(*sdk.StreamResponse); ok {
		limit := 1 << 20
		if w.async != nil {
			limit = w.async.ResultLimit + 1
		}
		return w.collect(ctx, sr, limit)
	}
	return event.FromGo(res)
}

// handle runs f's handler on an event and returns what it returned.
func (w *Worker) handle(ctx context.Context, f *function, data []byte) (any, error) {
	var res any
	var err error
	if raw, ok := f.handler.(RawHandler); ok {
		res, err = callRaw(ctx, raw, data)
	} else {
		ev, derr := event.Decode(data)
		if derr != nil {
			return nil, sdk.Permanent(&event.Error{Code: event.CodeInvalidEvent, Message: derr.Error()})
		}
		res, err = call(ctx, f.handler, ev)
	}
	return res, err
}

// errorOf turns a failed run into the error code a caller sees.
func errorOf(ctx context.Context, err error) *event.Error {
	var fe *event.Error
	switch {
	case errors.As(err, &fe):
		return fe
	case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		return &event.Error{Code: event.CodeTimeout, Message: err.Error()}
	default:
		return &event.Error{Code: event.CodeFunctionError, Message: err.Error()}
	}
}

// call runs h, turning a panic into an error.
func call(ctx context.Context, h sdk.Handler, ev *event.Event) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &event.Error{Code: event.CodeFunctionError, Message: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
		}
	}()
	return h.Invoke(ctx, ev)
}

// callRaw runs a RawHandler, turning a panic into an error.
func callRaw(ctx context.Context, h RawHandler, data []byte) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &event.Error{Code: event.CodeFunctionError, Message: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
		}
	}()
	return h.InvokeRaw(ctx, data)
}

// Drain stops taking new invocations, then waits until every invocation
// already received has run and been answered, or ctx ends. Other workers in
// the queue group take the traffic from the moment Drain is called.
func (w *Worker) Drain(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.DrainTimeout)
	defer cancel()
	w.mu.Lock()
	subs := make([]*nats.Subscription, 0, len(w.fns))
	for _, f := range w.fns {
		if f.sub != nil {
			subs = append(subs, f.sub)
		}
	}
	w.mu.Unlock()
	for _, s := range subs {
		if err := s.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			return fmt.Errorf("worker: drain %s: %w", s.Subject, err)
		}
	}
	w.mu.Lock()
	stop, beats := w.stopAsync, w.beats
	w.stopAsync, w.beats = nil, nil
	w.mu.Unlock()
	if beats != nil {
		close(beats) // gateways stop counting this worker at once
		w.beating.Wait()
	}
	if stop != nil {
		close(stop)
		w.consumers.Wait()
	}
	// A draining subscription is removed once the server has confirmed the
	// unsubscribe, so everything it sent before is in the channel by then;
	// the loops run that, then end.
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for _, s := range subs {
		for s.IsValid() {
			select {
			case <-poll.C:
			case <-ctx.Done():
				return fmt.Errorf("worker: drain %s: %w", s.Subject, ctx.Err())
			}
		}
	}
	w.closeDispatchers()
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		w.log.Info("worker drained")
		return nil
	case <-ctx.Done():
		return fmt.Errorf("worker: drain: invocations still running: %w", ctx.Err())
	}
}

// Run starts the worker, serves until ctx ends, then drains.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return w.Drain(context.WithoutCancel(ctx))
}
