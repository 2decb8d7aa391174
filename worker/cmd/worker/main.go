// Command worker serves fngate functions over NATS: Node.js functions from
// FNGATE_FUNCTIONS_DIR (package node) and the built-in Go functions of
// package builtin named in FNGATE_BUILTINS (none by default: they are demos
// and benchmarks), a Node.js function winning over a built-in of the same
// name. Start as many as you like: they share each function's load
// through NATS queue groups. SIGTERM drains: nothing received is lost.
// "worker version" prints the build's version and commit (package buildinfo).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/envflag"
	"github.com/fngate/fngate/shared/natsconn"
	"github.com/fngate/fngate/shared/process"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
	"github.com/fngate/fngate/worker/deploy"
	"github.com/fngate/fngate/worker/runtime"
)

type options struct {
	w           worker.Config
	node        runtime.Config
	async       worker.AsyncConfig
	natsURL     string
	natsSec     natsconn.Security
	redis       store.ClientConfig
	noAsync     bool
	recordTTL   time.Duration
	builtins    []string
	noDeploy    bool
	codeDir     string
	codeLimits  codestore.Limits
	logLevel    slog.Level
	metricsAddr string
}

func parse(args []string) (*options, error) {
	o := &options{}
	s := envflag.New("worker")
	s.String(&o.natsURL, "nats-url", "FNGATE_NATS_URL", "nats://127.0.0.1:4222", "NATS server URLs, comma-separated")
	o.natsSec.Bind(s)
	s.Int(&o.w.Concurrency, "concurrency", "FNGATE_CONCURRENCY", 64, "invocations of one function run at once by this worker")
	s.Duration(&o.w.HeartbeatInterval, "heartbeat-interval", "FNGATE_HEARTBEAT_INTERVAL", 2*time.Second, "how often the worker announces its functions and load to gateways")
	s.Duration(&o.w.DrainTimeout, "drain-timeout", "FNGATE_DRAIN_TIMEOUT", 30*time.Second, "how long in-flight invocations may finish after SIGTERM")
	o.redis.Bind(s, "invocation records (asynchronous invocations)")
	var async string
	s.String(&async, "async", "FNGATE_ASYNC", "on", "consume queued asynchronous invocations: on or off")
	s.Duration(&o.async.AckWait, "ack-wait", "FNGATE_ACK_WAIT", queue.DefaultAckWait, "how long a queued invocation may run without a heartbeat before it is redelivered")
	s.Int(&o.async.MaxAckPending, "max-ack-pending", "FNGATE_MAX_ACK_PENDING", queue.DefaultMaxAckPending, "a function's queued invocations in flight across all workers")
	s.List(&o.async.CallbackAllow, "callback-allow", "FNGATE_CALLBACK_ALLOW", nil, "CIDRs and host names callbacks may reach although loopback, private, link-local, CGNAT, multicast or unspecified (a host name may then resolve to anything), comma-separated; default: public addresses only")
	s.Duration(&o.recordTTL, "record-ttl", "FNGATE_RECORD_TTL", store.DefaultRecordTTL, "how long invocation records are kept in Redis")
	o.node.Bind(s)
	s.List(&o.w.Functions, "serve-functions", "FNGATE_FUNCTIONS", nil, "serve only these functions (names or glob patterns such as img-*, comma-separated): a pool of workers for a group of functions; default: all")
	var deploy string
	s.String(&deploy, "deploy", "FNGATE_DEPLOY", "on", "serve the functions deployed through the gateway's admin API (PUT /admin/functions/<name>/code, kept in JetStream): on or off")
	s.Int64(&o.codeLimits.MaxBytes, "max-code-unpacked-bytes", "FNGATE_MAX_CODE_UNPACKED_BYTES", codestore.DefaultMaxUnpackedBytes, "largest size a deployed function's code may unpack to")
	s.String(&o.codeDir, "code-dir", "FNGATE_CODE_DIR", "", "where deployed functions are unpacked (emptied at start); default: a temporary folder")
	var uid string
	s.String(&uid, "function-uid", "FNGATE_FUNCTION_UID", "", "run Node.js functions as this uid (N), or one uid each from a base (N+), when the worker runs as root")
	// Demo functions (fail, panic, sleep, cpu) are served only when asked.
	s.List(&o.builtins, "builtins", "FNGATE_BUILTINS", []string{"none"}, "built-in Go functions to serve: all, none, or names")
	s.LogLevel(&o.logLevel, "log-level", "FNGATE_LOG_LEVEL", slog.LevelInfo, "debug, info, warn or error")
	s.String(&o.metricsAddr, "metrics-addr", "FNGATE_METRICS_ADDR", ":9091", "where /healthz, /readyz and /metrics are served; empty: nowhere")
	if err := s.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if o.node.UID, o.node.UIDPerFunction, err = runtime.ParseUID(uid); err != nil {
		return nil, fmt.Errorf("FNGATE_FUNCTION_UID=%w", err)
	}
	if o.noDeploy, err = onOff("FNGATE_DEPLOY", deploy); err != nil {
		return nil, err
	}
	if o.noAsync, err = onOff("FNGATE_ASYNC", async); err != nil {
		return nil, err
	}
	return o, nil
}

// onOff reports whether the switch env (on or off) is off.
func onOff(env, v string) (off bool, err error) {
	switch v {
	case "on", "true", "1":
		return false, nil
	case "off", "false", "0":
		return true, nil
	}
	return false, fmt.Errorf("%s=%q: want on or off", env, v)
}

func main() {
	o := process.Parse("worker", os.Args[1:], parse)
	log, ctx, stop := process.Start(o.logLevel)
	defer stop()
	o.w.Logger = log
	if err := run(ctx, o); err != nil {
		log.Error("worker exited", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o *options) error {
	log := o.w.Logger
	natsOpts, err := natsconn.Options("fngate-worker", o.natsSec, log)
	if err != nil {
		return err
	}
	nc, err := connect(ctx, o.natsURL, natsOpts, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	w, err := worker.New(nc, o.w)
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	if o.node.Dir != "" {
		o.node.Logger = log
		o.node.Concurrency = o.w.Concurrency
		o.node.OnRestart = w.NodeRestarted
		o.node.OnColdStart = w.ColdStarted
		rt, err := runtime.New(ctx, o.node)
		if err != nil {
			return err
		}
		defer rt.Close()
		for _, name := range rt.Functions() {
			if err := w.Handle(name, rt.Handler(name), worker.WithConcurrency(rt.Concurrency()), worker.Concurrent()); err != nil {
				return err
			}
			taken[name] = true
		}
		// Folders added or removed later are served or drained.
		if err := rt.Follow(ctx, w); err != nil {
			return err
		}
		log.Info("functions loaded", "dir", o.node.Dir, "functions", rt.Functions())
	}
	if err := registerBuiltins(w, o.builtins, taken, log); err != nil {
		return err
	}
	if !o.noDeploy {
		// In the background: the worker serves its folder and built-ins
		// at once, deployed functions once a gateway has made the store.
		deployed := make(chan *deploy.Deployer, 1)
		dctx, stopDeploy := context.WithCancel(ctx)
		go func() {
			d, err := startDeployer(dctx, nc, w, o)
			if err != nil && dctx.Err() == nil {
				log.Error("not serving deployed functions", "err", err)
			}
			deployed <- d
		}()
		defer func() {
			stopDeploy()
			if d := <-deployed; d != nil {
				_ = d.Close()
			}
		}()
	} else if len(w.Functions()) == 0 {
		return fmt.Errorf("no functions to serve: set FNGATE_FUNCTIONS_DIR or FNGATE_BUILTINS, or FNGATE_DEPLOY=on")
	}
	var checks []func(context.Context) error
	if !o.noAsync {
		rdb, err := store.NewClient(o.redis)
		if err != nil {
			return fmt.Errorf("FNGATE_REDIS_*: %w", err)
		}
		defer rdb.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("JetStream: %w", err)
		}
		o.async.JetStream, o.async.Records = js, store.NewInvocations(rdb, o.recordTTL)
		o.async.Functions = store.NewFunctions(rdb)
		checks = append(checks, func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
		if err := w.EnableAsync(o.async); err != nil {
			return err
		}
	}
	if o.metricsAddr != "" {
		srv := &http.Server{Addr: o.metricsAddr, Handler: w.OperateHandler(checks...), ReadHeaderTimeout: 5 * time.Second}
		ln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return fmt.Errorf("FNGATE_METRICS_ADDR: %w", err)
		}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		log.Info("serving /healthz, /readyz and /metrics", "addr", ln.Addr().String())
	}
	if err := w.Run(ctx); err != nil {
		return err
	}
	return nc.Drain()
}

// deployUIDOffset is how far above FNGATE_FUNCTION_UID=N+ the uids of the
// deployed functions start.
const deployUIDOffset = 1 << 19

// startDeployer has w serve the functions deployed through the admin API
// (package deploy), with the Node.js settings of the worker's folder.
func startDeployer(ctx context.Context, nc *nats.Conn, w *worker.Worker, o *options) (*deploy.Deployer, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	// The gateways make the buckets; a worker that starts first waits.
	b := backoff.NewExponentialBackOff(backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(0))
	cs, err := backoff.RetryNotifyWithData(func() (*codestore.Store, error) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return codestore.Bind(cctx, js)
	}, backoff.WithContext(b, ctx), func(err error, d time.Duration) {
		o.w.Logger.Warn("waiting for the code store (a gateway makes it; FNGATE_DEPLOY=off serves no deployed functions)", "err", err, "retry_in", d.String())
	})
	if err != nil {
		return nil, fmt.Errorf("code store: %w", err)
	}
	rc := o.node
	rc.Logger, rc.Concurrency, rc.OnRestart, rc.OnColdStart = o.w.Logger, o.w.Concurrency, w.NodeRestarted, w.ColdStarted
	if rc.UIDPerFunction {
		// Users of their own, clear of those of the folder's functions
		// (uid, uid+1, ... in the order they were found).
		rc.UID += deployUIDOffset
	}
	return deploy.New(ctx, w, deploy.Config{Store: cs, Dir: o.codeDir, Limits: o.codeLimits, Runtime: rc, Logger: o.w.Logger})
}

// registerBuiltins serves the named built-in functions, except those a
// Node.js function of the same name already serves.
func registerBuiltins(w *worker.Worker, names []string, taken map[string]bool, log *slog.Logger) error {
	all := builtin.Functions()
	switch {
	case slices.Equal(names, []string{"none"}) || len(names) == 0:
		return nil
	case slices.Equal(names, []string{"all"}):
		names = builtin.Names()
	}
	for _, n := range names {
		h, ok := all[n]
		if !ok {
			return fmt.Errorf("FNGATE_BUILTINS: no built-in function %q (have %v)", n, builtin.Names())
		}
		if taken[n] {
			log.Info("built-in function shadowed by the Node.js function of the same name", "function", n)
			continue
		}
		if err := w.Handle(n, h); err != nil {
			return err
		}
	}
	return nil
}

// connect dials NATS, retrying with backoff until ctx ends: the gateway
// that embeds NATS may start after the worker.
func connect(ctx context.Context, url string, opts []nats.Option, log *slog.Logger) (*nats.Conn, error) {
	b := backoff.NewExponentialBackOff(backoff.WithMaxInterval(2*time.Second), backoff.WithMaxElapsedTime(0))
	return backoff.RetryNotifyWithData(func() (*nats.Conn, error) {
		return nats.Connect(url, opts...)
	}, backoff.WithContext(b, ctx), func(err error, d time.Duration) {
		log.Warn("waiting for NATS", "url", envflag.Redact(url), "err", err, "retry_in", d.String())
	})
}
