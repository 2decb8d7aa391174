// Package gatewaytest runs fngate stacks for end-to-end tests: a real
// in-process nats-server, a real redis-server, gateways serving HTTP on
// loopback ports, and workers, all stopped at test cleanup.
package gatewaytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/schedule"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// Stack is one NATS server and one Redis shared by any number of gateways
// and workers.
type Stack struct {
	T    testing.TB
	NATS *server.Server
	// Redis is the stack's redis-server (nil for NewOnRedis).
	Redis       *testenv.Redis
	Routes      *store.Routes
	Invocations *store.Invocations
	Idempotency *store.Idempotency
	Functions   *store.Functions
	// AckWait of the workers' consumers (default 2s in tests, so that a
	// lost worker's invocations come back quickly).
	AckWait time.Duration
	// GatewayNATS and WorkerNATS are extra options of the gateways' and
	// workers' NATS connections (credentials, say).
	GatewayNATS, WorkerNATS []nats.Option
	// URL overrides where gateways and workers connect (a cluster's URLs).
	URL string
	// StreamReplicas of the invocation streams (default 1).
	StreamReplicas int
	// QueueMaxBytes bounds the invocation stream (default
	// queue.DefaultMaxBytes).
	QueueMaxBytes int64
	// DeadMaxBytes bounds the dead-letter stream (default
	// queue.DefaultDeadMaxBytes; -1 unbounded).
	DeadMaxBytes int64
	// Code, when set, gives the gateways the code store (deploys through
	// the admin API); CodeStore opens it for workers.
	Code bool
	// Async is the base of the workers' async configuration (callback
	// settings, say); the stack sets JetStream, Records and AckWait.
	Async worker.AsyncConfig

	mu          sync.Mutex
	workerConns map[*worker.Worker]*nats.Conn // for KillWorker
}

// New starts NATS and Redis and stores routes.
func New(t testing.TB, routes ...route.Route) *Stack {
	t.Helper()
	return NewWithNATS(t, testenv.NATS(t), routes...)
}

// NewWithNATS is New on a NATS server the test started itself.
func NewWithNATS(t testing.TB, ns *server.Server, routes ...route.Route) *Stack {
	t.Helper()
	r := testenv.StartRedis(t)
	s := newStack(t, ns, r.Client(), routes)
	s.Redis = r
	// Function settings on a client of their own, as the workers that
	// read them have in production (their own process), and without
	// retries: the workers' reads while a test holds Redis down must not
	// fill go-redis's dial-error count (which makes a client refuse to
	// dial for a second) of the client the test's own writes use.
	fc := redis.NewClient(&redis.Options{Addr: r.Addr(), Password: r.Password, MaxRetries: -1})
	t.Cleanup(func() { _ = fc.Close() })
	s.Functions = store.NewFunctions(fc)
	return s
}

// NewOnRedis is New on a Redis client the test built itself (a Sentinel
// or Cluster client, say); the stores of every gateway and worker use it.
func NewOnRedis(t testing.TB, rdb redis.UniversalClient, routes ...route.Route) *Stack {
	t.Helper()
	return newStack(t, testenv.NATS(t), rdb, routes)
}

func newStack(t testing.TB, ns *server.Server, rdb redis.UniversalClient, routes []route.Route) *Stack {
	t.Helper()
	s := &Stack{T: t, NATS: ns, AckWait: 2 * time.Second}
	s.Routes = store.NewRoutes(rdb)
	s.Invocations = store.NewInvocations(rdb, 0)
	s.Idempotency = store.NewIdempotency(rdb, 0)
	s.Functions = store.NewFunctions(rdb)
	// A test may swap the store before starting gateways: close the last.
	t.Cleanup(func() { s.Idempotency.Close() })
	t.Cleanup(s.Invocations.Close)
	if len(routes) > 0 {
		if err := s.Routes.Put(context.Background(), routes); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// conn connects to the stack's NATS (or URL), closed at cleanup.
func (s *Stack) conn(opts ...nats.Option) *nats.Conn {
	s.T.Helper()
	url := s.URL
	if url == "" {
		url = s.NATS.ClientURL()
	}
	nc, err := nats.Connect(url, append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		s.T.Fatal(err)
	}
	s.T.Cleanup(nc.Close)
	return nc
}

// Conn is a NATS connection for the test itself, to the stack's NATS or
// URL, closed at cleanup.
func (s *Stack) Conn() *nats.Conn { return s.conn(nats.Name("test")) }

// RestartNATS stops the NATS server and starts it again on the same port
// with the same JetStream store; clients reconnect on their own.
func (s *Stack) RestartNATS() {
	t := s.T
	t.Helper()
	port := s.NATS.Addr().(*net.TCPAddr).Port
	dir := s.NATS.StoreDir()
	s.NATS.Shutdown()
	s.NATS.WaitForShutdown()
	s.NATS = testenv.NATSAt(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir)
}

// Logger returns a logger that writes to the test log when -v is set and
// discards otherwise.
func Logger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Gateway is a gateway serving on loopback.
type Gateway struct {
	*gateway.Gateway
	URL      string // public listener, http://127.0.0.1:port
	AdminURL string
	stop     context.CancelFunc
	done     chan error
	once     sync.Once
	err      error
}

// Stop shuts the gateway down gracefully and waits for it (at most 30s).
func (g *Gateway) Stop() error {
	g.once.Do(func() {
		g.stop()
		select {
		case g.err = <-g.done:
		case <-time.After(30 * time.Second):
			g.err = errors.New("gateway did not stop within 30s")
		}
	})
	return g.err
}

// Gateway starts a gateway on the stack. cfg's addresses are ignored.
func (s *Stack) Gateway(cfg gateway.Config) *Gateway {
	t := s.T
	t.Helper()
	nc := s.conn(append([]nats.Option{nats.Name("gateway")}, s.GatewayNATS...)...)
	if cfg.Logger == nil {
		cfg.Logger = Logger(t)
	}
	cfg.AdminAddr = "127.0.0.1:0"
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// A cluster just formed may not count every peer online yet ("no
	// suitable peers for placement"): ask again, as a gateway does.
	testenv.Eventually(t, 20*time.Second, "the invocation streams created", func() bool {
		ctx0, cancel0 := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel0()
		err := queue.EnsureStreams(ctx0, js, queue.Config{Replicas: s.StreamReplicas, MaxBytes: s.QueueMaxBytes, DeadMaxBytes: s.DeadMaxBytes})
		if err != nil {
			t.Logf("creating the invocation streams: %v", err)
		}
		return err == nil
	})
	deps := gateway.Deps{NATS: nc, Routes: s.Routes, Queue: js, Queued: queue.NewLookup(js), Schedules: schedule.NewStore(js), Invocations: s.Invocations, Idempotency: s.Idempotency, Functions: s.Functions}
	if s.Code {
		deps.Code = s.CodeStore(js)
	}
	g, err := gateway.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SyncRoutes(context.Background()); err != nil {
		t.Fatal(err)
	}
	return Serve(t, g)
}

// CodeStore opens the stack's code store on js (its buckets made if
// missing).
func (s *Stack) CodeStore(js jetstream.JetStream) *codestore.Store {
	s.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := codestore.Open(ctx, js, codestore.Config{Replicas: s.StreamReplicas})
	if err != nil {
		s.T.Fatal(err)
	}
	return cs
}

// Serve serves g on two loopback listeners, public and admin (cfg's
// addresses are not used), until the test ends.
func Serve(t testing.TB, g *gateway.Gateway) *Gateway {
	t.Helper()
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gw := &Gateway{Gateway: g, URL: "http://" + pub.Addr().String(), AdminURL: "http://" + adm.Addr().String(), stop: cancel, done: make(chan error, 1)}
	listeners.Store(pub.Addr().String(), false)
	listeners.Store(adm.Addr().String(), true)
	go func() { gw.done <- g.Serve(ctx, pub, adm) }()
	t.Cleanup(func() {
		if err := gw.Stop(); err != nil {
			t.Error(err)
		}
		listeners.Delete(pub.Addr().String())
		listeners.Delete(adm.Addr().String())
	})
	return gw
}

// Worker starts a worker serving fns on its own NATS connection, as a
// separate worker process would. It is drained at cleanup unless the test
// drained it already.
func (s *Stack) Worker(cfg worker.Config, fns map[string]sdk.Handler) *worker.Worker {
	t := s.T
	t.Helper()
	nc := s.conn(append([]nats.Option{nats.Name("worker")}, s.WorkerNATS...)...)
	if cfg.Logger == nil {
		cfg.Logger = Logger(t)
	}
	w, err := worker.New(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ac := s.Async
	ac.JetStream, ac.Records, ac.AckWait, ac.Functions = js, s.Invocations, s.AckWait, s.Functions
	if err := w.EnableAsync(ac); err != nil {
		t.Fatal(err)
	}
	for name, h := range fns {
		if err := w.Handle(name, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Drain(context.Background()) })
	s.mu.Lock()
	if s.workerConns == nil {
		s.workerConns = map[*worker.Worker]*nats.Conn{}
	}
	s.workerConns[w] = nc
	s.mu.Unlock()
	return w
}

// KillWorker stops w as a crash would: its NATS connection closes at once,
// so nothing in flight is answered or acknowledged (JetStream redelivers
// its invocations after AckWait). Handlers still running are abandoned
// until the test's cleanup drains the worker: release any that block
// forever in a cleanup registered after the worker was started.
func (s *Stack) KillWorker(w *worker.Worker) {
	s.mu.Lock()
	nc := s.workerConns[w]
	s.mu.Unlock()
	if nc == nil {
		s.T.Fatal("gatewaytest: KillWorker of a worker this stack did not start")
	}
	nc.Close()
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
}

// ErrorCode returns error.code of a JSON error body ("" if none).
func (r *Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
		RequestID string `json:"requestId"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Client is the HTTP client tests use: no keep-alive reuse across tests.
// It holds every admin call to a gateway that Serve started to the OpenAPI
// document (see CheckContract).
var Client = &http.Client{Timeout: 60 * time.Second, Transport: contractTransport{http.DefaultTransport}}

// Do sends a request and reads the whole response. host, when set, is sent
// as the Host header. It fails the test on error, so call it only from the
// test's goroutine; other goroutines use Try or Go.
func Do(t testing.TB, method, url, host string, header http.Header, body []byte) *Response {
	t.Helper()
	resp, err := Try(method, url, host, header, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Try is Do that returns its error instead of failing the test: t.Fatal
// may be called only from the test's own goroutine.
func Try(method, url, host string, header http.Header, body []byte) (*Response, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if host != "" {
		req.Host = host
	}
	resp, err := Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Call is a request sent from its own goroutine by Go.
type Call struct {
	what string
	done chan struct{}
	resp *Response
	err  error
}

// Go sends a request from a new goroutine (one held in flight while the
// test does something else); Wait collects the response.
func Go(method, url, host string, header http.Header, body []byte) *Call {
	c := &Call{what: method + " " + url, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.resp, c.err = Try(method, url, host, header, body)
	}()
	return c
}

// GoGet is Go with GET and no body.
func GoGet(url string) *Call { return Go(http.MethodGet, url, "", nil, nil) }

// Wait returns the call's response. It fails the test if the request
// failed or has not finished within timeout, instead of hanging the test
// until the suite's -timeout.
func (c *Call) Wait(t testing.TB, timeout time.Duration) *Response {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		t.Fatalf("%s: no response within %s", c.what, timeout)
	}
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.resp
}

// Get is Do with GET and no body.
func Get(t testing.TB, url string) *Response { return Do(t, http.MethodGet, url, "", nil, nil) }
