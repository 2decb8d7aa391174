package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
)

// HTTP header names the gateway reads or writes.
const (
	HeaderRequestID = "X-Request-Id"
)

func init() {
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
}

// Requester sends a NATS request and waits for its reply, or publishes a
// message (a cancel to the workers); *nats.Conn is one.
type Requester interface {
	RequestMsgWithContext(ctx context.Context, msg *nats.Msg) (*nats.Msg, error)
	PublishMsg(msg *nats.Msg) error
}

// RouteStore is the shared route table; *store.Routes is one.
type RouteStore interface {
	Scan(ctx context.Context, fn func(page []route.Route) error) (int64, error)
	Version(ctx context.Context) (int64, error)
	// Epoch names the life of the table: it changes when Redis lost the
	// table and it was written anew ("" before any change).
	Epoch(ctx context.Context) (string, error)
	Seed(ctx context.Context, rs []route.Route, above int64) (int64, error)
	Changes(ctx context.Context) <-chan route.Change
	Get(ctx context.Context, id string) (*route.Route, error)
	Create(ctx context.Context, r *route.Route) error
	Replace(ctx context.Context, id string, r *route.Route) error
	Delete(ctx context.Context, id string) error
}

// Publisher publishes to JetStream and waits for the ack; a
// jetstream.JetStream is one.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// InvocationStore keeps invocation records; *store.Invocations is one.
type InvocationStore interface {
	Create(ctx context.Context, inv *record.Invocation, event []byte) (bool, error)
	Get(ctx context.Context, id string) (*record.Invocation, error)
	Event(ctx context.Context, id string) ([]byte, error)
	List(ctx context.Context, f record.Filter) (*record.Page, error)
	ReplayCreated(ctx context.Context, id, replayID string) error
	// Cancel ends id as cancelled (see store.Invocations.Cancel).
	Cancel(ctx context.Context, id string, inv *record.Invocation, event []byte) (string, error)
}

// QueueLookup finds a queued invocation's message by its id; a
// *queue.Lookup is one. It returns record.ErrInvocationNotFound when
// the stream has no message for id.
type QueueLookup interface {
	Queued(ctx context.Context, id string) (*record.Invocation, []byte, error)
	// Find is Queued with the message's sequence, Delete removes the
	// message at a sequence: a cancel takes a queued invocation out.
	Find(ctx context.Context, id string) (*record.Invocation, []byte, uint64, error)
	Delete(ctx context.Context, seq uint64) error
	// CancelDelayed removes a delayed invocation's schedule message so it
	// never fires (queue.ErrNotDelayed when it has none any more).
	CancelDelayed(ctx context.Context, id string) error
	// DelayedBytes is the size of the delayed invocations waiting.
	DelayedBytes(ctx context.Context) (uint64, error)
}

// Deps are the gateway's connections. NATS and Routes are required; Queue
// and Invocations enable asynchronous invocations (without them an async
// request is answered 503).
type Deps struct {
	NATS        Requester
	Routes      RouteStore
	Queue       Publisher
	Invocations InvocationStore
	// Queued finds invocations that wait in the stream, not yet taken by
	// a worker (a *queue.Lookup); without it only records are looked up.
	Queued QueueLookup
	// Idempotency enables Idempotency-Key handling; without it a keyed
	// request is answered 503.
	Idempotency IdempotencyStore
	// Schedules enables the admin API's schedules (a *schedule.Store);
	// without it they answer 503 ASYNC_DISABLED.
	Schedules ScheduleStore
	// Functions keeps function settings (maxConcurrency); without it
	// PUT /admin/functions/<name> is answered 503.
	Functions FunctionStore
	// Code keeps deployed function code (a *codestore.Store); without it
	// the code endpoints of /admin/functions answer 503 DEPLOY_DISABLED.
	Code CodeStore
}

// FunctionStore keeps function settings; *store.Functions is one.
type FunctionStore interface {
	Put(ctx context.Context, f route.Function) error
	List(ctx context.Context) ([]route.Function, error)
}

// Gateway serves the public HTTP listener and the admin API.
type Gateway struct {
	id     string // random, new at each start
	cfg    Config
	log    *slog.Logger
	nats   Requester
	store  RouteStore
	queue  Publisher
	invs   InvocationStore
	queued QueueLookup
	idem   IdempotencyStore
	scheds ScheduleStore
	// delayed keeps delayed accepts within Config.MaxDelayedBytes.
	delayed delayedRoom
	fns     FunctionStore
	code    CodeStore
	// redact are the canonical names of Config.RedactHeaders; redactList
	// the same, comma-separated, for event.Job.Redact.
	redact     map[string]bool
	redactList string

	metrics *metrics
	workers workerTable

	table   atomic.Pointer[route.Table] // nil until the first load
	version atomic.Int64
	// epoch is the store's epoch of the table served ("" unknown: a
	// store without one, or an empty one); written under reload.
	epoch    atomic.Pointer[string]
	inflight atomic.Int64
	admit    admission
	reload   sync.Mutex  // one reload at a time
	lost     atomic.Bool // the store's table is older than ours
	watching atomic.Bool // watchRoutes applies published changes
	// advanced is closed when the version served advances (see catchUp).
	advancedMu sync.Mutex
	advanced   chan struct{}
	// settling counts idempotent calls still waiting for their reply
	// after their handler returned; Serve waits for them.
	settling sync.WaitGroup
}

// New returns a gateway. It loads no routes: call [Gateway.Serve], or
// [Gateway.SyncRoutes] first to fail fast when Redis is unreachable.
func New(cfg Config, d Deps) (*Gateway, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.NATS == nil || d.Routes == nil {
		return nil, errors.New("gateway: a NATS requester and a route store are required")
	}
	g := &Gateway{id: nuid.Next(), cfg: cfg, log: cfg.Logger, nats: d.NATS, store: d.Routes, queue: d.Queue, invs: d.Invocations, queued: d.Queued, idem: d.Idempotency, scheds: d.Schedules, fns: d.Functions, code: d.Code, redact: cfg.redactSet()}
	g.admit.maxReqs, g.admit.maxBytes = cfg.MaxInflight, cfg.MaxInflightBytes
	names := make([]string, 0, len(g.redact))
	for h := range g.redact {
		names = append(names, h)
	}
	g.redactList = strings.Join(names, ",")
	g.metrics = newMetrics(g)
	g.workers.workers = map[string]seenWorker{}
	return g, nil
}

// Handler returns the public HTTP handler.
func (g *Gateway) Handler() http.Handler {
	e := gin.New()
	if err := e.SetTrustedProxies(g.cfg.TrustedProxies); err != nil {
		// Validated by cmd; an invalid list here trusts nobody.
		g.log.Error("invalid trusted proxies; trusting none", "err", err)
		_ = e.SetTrustedProxies(nil)
	}
	e.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, p any) {
		writeError(c, g.log, c.Writer.Header().Get(HeaderRequestID), fmt.Errorf("gateway panic: %v", p))
	}))
	e.Any(route.ReservedPath+"/:id", g.invocationStatus)
	// Every other path and method reaches invoke: routing is ours, not gin's.
	e.NoRoute(g.invoke)
	return e
}

// InFlight returns the number of function calls in progress.
func (g *Gateway) InFlight() int64 { return g.inflight.Load() }

// Serve serves the public listener pub and the admin listener adm (nil for
// none) until ctx ends, keeping routes in sync with the store. Then it stops
// accepting, lets in-flight requests finish within ShutdownTimeout, and
// returns.
func (g *Gateway) Serve(ctx context.Context, pub, adm net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := g.SyncRoutes(ctx); err != nil {
		g.log.Warn("routes not loaded at start; answering 503 until Redis answers", "err", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { g.watchRoutes(ctx) })
	wg.Go(func() { g.watchWorkers(ctx) })
	wg.Go(func() { g.answerStats(ctx) })
	defer wg.Wait()

	servers := []*http.Server{g.newServer(g.Handler())}
	lns := []net.Listener{pub}
	if adm != nil {
		servers = append(servers, g.newServer(g.AdminHandler()))
		lns = append(lns, adm)
	}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.Serve(lns[i]) }()
	}
	g.log.Info("gateway serving", "http", pub.Addr().String(), "admin", addrOf(adm))
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("gateway: serve: %w", err)
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.ShutdownTimeout)
	defer scancel()
	for _, s := range servers {
		if serr := s.Shutdown(sctx); serr != nil && err == nil {
			err = fmt.Errorf("gateway: shutdown: %w", serr)
		}
	}
	g.waitSettling(sctx)
	cancel()
	g.log.Info("gateway stopped")
	return err
}

// waitSettling waits until idempotent calls whose client is gone have
// stored their outcome, or ctx ends.
func (g *Gateway) waitSettling(ctx context.Context) {
	done := make(chan struct{})
	go func() { g.settling.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		g.log.Warn("stopping with idempotent calls still waiting for their reply; their keys stay claimed until their leases end")
	}
}

func (g *Gateway) newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       g.cfg.ReadTimeout,
		WriteTimeout:      g.cfg.WriteTimeout,
		IdleTimeout:       g.cfg.IdleTimeout,
		// A hard stop far above the configured limit, so that requests
		// between the two get our JSON 431 rather than net/http's text.
		MaxHeaderBytes: max(1<<20, 4*g.cfg.MaxHeaderBytes),
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}
