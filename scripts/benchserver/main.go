// Command benchserver serves the targets scripts/bench.sh loads, all in one
// process so that every target runs under the same conditions:
//
//	bare       a bare gin handler answering the request body
//	nats       gin → NATS request-reply → a bare responder (no routing, no event)
//	gateway    the fngate gateway → NATS → a worker running the built-in Go echo
//	node       the same with the Node.js twin of echo on the worker
//	keyed      the gateway's echo with a unique Idempotency-Key per request
//	unkeyed    the same route, for requests with no Idempotency-Key
//	jetstream  gin → JetStream publish, waiting for the ack → 202
//	async      the fngate gateway accepting async invocations of echo (202)
//	cpu1       the gateway calling the CPU-bound built-in cpu served by one
//	           worker process
//	cpu2       the same served by two worker processes
//	control    POST /drain: a worker drains the queued async invocations
//
// It prints one "target name url" line per target, then "ready", and serves
// until SIGINT or SIGTERM. It listens on 127.0.0.1 only.
//
// The cpu targets' workers are separate OS processes (this binary again,
// with -cpu-worker), each with GOMAXPROCS=1, so that cpu2 / cpu1 measures
// what a second worker process adds, not a second thread of one.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/gctune"
	"github.com/fngate/fngate/shared/natsserver"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
	fnruntime "github.com/fngate/fngate/worker/runtime"
	"github.com/fngate/fngate/worker/sdk"
)

func main() {
	redisURL := flag.String("redis-url", "", "Redis URL for the gateway's routes (required)")
	storeDir := flag.String("store-dir", "", "JetStream store directory (default: a temp dir)")
	natsSync := flag.String("nats-sync", natsserver.DefaultSync.String(), "JetStream fsync policy of the embedded server, as FNGATE_NATS_SYNC: always or an interval")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile at exit to this file")
	cpuWorker := flag.String("cpu-worker", "", "run as a worker process serving the built-in cpu as this function, on -nats-url, until stdin closes")
	natsURL := flag.String("nats-url", "", "NATS URL of -cpu-worker")
	flag.Parse()
	// The same GC target as the gateway and worker binaries; every target
	// shares this process, so the baselines run with it too.
	gctune.Apply()
	if *cpuWorker != "" {
		if err := runCPUWorker(*natsURL, *cpuWorker); err != nil {
			fmt.Fprintln(os.Stderr, "benchserver -cpu-worker:", err)
			os.Exit(1)
		}
		return
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 4096
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	sync, err := natsserver.ParseSync(*natsSync)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(2)
	}
	if err := run(*redisURL, *storeDir, sync); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(redisURL, storeDir string, sync natsserver.Sync) error {
	if redisURL == "" {
		return fmt.Errorf("-redis-url is required")
	}
	if storeDir == "" {
		d, err := os.MkdirTemp("", "fngate-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		storeDir = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	ns, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:-1", StoreDir: storeDir, Sync: sync})
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	conn := func(name string) *nats.Conn {
		nc, err := nats.Connect(ns.ClientURL(), nats.Name(name))
		if err != nil {
			panic(err)
		}
		return nc
	}

	// bare: gin alone.
	bare := gin.New()
	bare.NoRoute(func(c *gin.Context) {
		b, _ := io.ReadAll(c.Request.Body)
		c.Data(http.StatusOK, "application/json", b)
	})

	// nats: gin → NATS request-reply → bare responder.
	responder := conn("bench-responder")
	defer responder.Close()
	if _, err := responder.QueueSubscribe("bench.bare", "bench", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		return err
	}
	_ = responder.Flush()
	requester := conn("bench-requester")
	defer requester.Close()
	viaNATS := gin.New()
	viaNATS.NoRoute(func(c *gin.Context) {
		b, _ := io.ReadAll(c.Request.Body)
		ctx, cancel := context.WithTimeout(c.Request.Context(), 15*time.Second)
		defer cancel()
		m, err := requester.RequestWithContext(ctx, "bench.bare", b)
		if err != nil {
			c.String(http.StatusBadGateway, err.Error())
			return
		}
		c.Data(http.StatusOK, "application/json", m.Data)
	})

	// jetstream: gin → JetStream publish, waiting for the ack → 202.
	jsnc := conn("bench-js")
	defer jsnc.Close()
	js, err := jetstream.New(jsnc)
	if err != nil {
		return err
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: "BENCH_BASELINE", Subjects: []string{"bench.js.>"}, Storage: jetstream.FileStorage,
		Retention: jetstream.WorkQueuePolicy, MaxMsgs: 1_000_000,
	}); err != nil {
		return err
	}
	viaJS := gin.New()
	viaJS.NoRoute(func(c *gin.Context) {
		b, _ := io.ReadAll(c.Request.Body)
		ack, err := js.Publish(c.Request.Context(), "bench.js.echo", b)
		if err != nil {
			c.String(http.StatusServiceUnavailable, err.Error())
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"seq": ack.Sequence, "status": "queued"})
	})

	// gateway, node, async: the whole fngate path.
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	routes := store.NewRoutes(rdb)
	invs := store.NewInvocations(rdb, time.Hour)
	defer invs.Close()
	if err := routes.Put(ctx, []route.Route{
		{Domain: "*", Path: "/", Function: "echo"},
		{Domain: "*", Path: "/node", Function: "node-echo"},
		{Domain: "*", Path: "/greet", Function: "greet"},
		{Domain: "*", Path: "/pygreet", Function: "py-greet"},
		{Domain: "*", Path: "/async", Function: "echo", Mode: route.ModeAsync},
		{Domain: "*", Path: "/keyed", Function: "echo"},
		{Domain: "*", Path: "/cpu1", Function: "cpu-one"},
		{Domain: "*", Path: "/cpu2", Function: "cpu-two"},
		{Domain: "*", Path: "/stream", Function: "events"},
	}); err != nil {
		return err
	}
	if err := queue.EnsureStreams(ctx, js, queue.Config{}); err != nil {
		return err
	}
	if _, err := queue.EnsureConsumer(ctx, js, "echo", queue.ConsumerConfig{}); err != nil {
		return err
	}
	fnDir, err := os.MkdirTemp("", "fngate-bench-fn-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(fnDir)
	if err := os.MkdirAll(filepath.Join(fnDir, "node-echo"), 0o755); err != nil {
		return err
	}
	// The Node twin of the built-in echo: it returns the event it received.
	if err := os.WriteFile(filepath.Join(fnDir, "node-echo", "index.js"), []byte("exports.main = async (event) => event;\n"), 0o644); err != nil {
		return err
	}
	// The seed's greet, in Node.js and in Python, as shipped.
	for fn, src := range map[string]string{"greet": "deployments/functions/greet", "py-greet": "deployments/functions-python/greet"} {
		if err := os.CopyFS(filepath.Join(fnDir, fn), os.DirFS(src)); err != nil {
			return err
		}
	}
	rt, err := fnruntime.New(ctx, fnruntime.Config{Dir: fnDir, Logger: quiet, Preload: true})
	if err != nil {
		return err
	}
	defer rt.Close()
	wnc := conn("bench-worker")
	defer wnc.Close()
	w, err := worker.New(wnc, worker.Config{Logger: quiet})
	if err != nil {
		return err
	}
	if err := w.Handle("echo", sdk.HandlerFunc(builtin.Echo)); err != nil {
		return err
	}
	if err := w.Handle("events", sdk.HandlerFunc(builtin.Events)); err != nil {
		return err
	}
	for _, fn := range rt.Functions() {
		if err := w.Handle(fn, rt.Handler(fn), worker.WithConcurrency(rt.Concurrency()), worker.Concurrent()); err != nil {
			return err
		}
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	// cpu1, cpu2: one and two worker processes serving the built-in cpu.
	for _, fn := range []string{"cpu-one", "cpu-two", "cpu-two"} {
		stopWorker, err := startCPUWorker(ns.ClientURL(), fn)
		if err != nil {
			return err
		}
		defer stopWorker()
	}

	gnc := conn("bench-gateway")
	defer gnc.Close()
	gjs, err := jetstream.New(gnc)
	if err != nil {
		return err
	}
	idem := store.NewIdempotency(rdb, time.Hour)
	defer idem.Close()
	g, err := gateway.New(gateway.Config{AdminAddr: "127.0.0.1:0", Logger: quiet},
		gateway.Deps{NATS: gnc, Routes: routes, Queue: gjs, Queued: queue.NewLookup(gjs), Invocations: invs, Idempotency: idem})
	if err != nil {
		return err
	}

	// control: POST /drain starts a worker consuming the queued async
	// invocations, waits until the queue is empty, stops it, and reports.
	ctl := http.NewServeMux()
	ctl.HandleFunc("POST /drain", func(rw http.ResponseWriter, r *http.Request) {
		res, err := drain(r.Context(), conn("bench-drainer"), js, invs, quiet)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(rw).Encode(res)
	})
	// Profiles of the running benchserver, e.g. of the gateway under a
	// target's load or of a drain (go tool pprof <control>/debug/pprof/profile).
	ctl.HandleFunc("GET /debug/pprof/", httppprof.Index)
	ctl.HandleFunc("GET /debug/pprof/profile", httppprof.Profile)

	// POST /coldstart measures cold starts of each runtime and reports
	// their p50 and p99.
	ctl.HandleFunc("POST /coldstart", func(rw http.ResponseWriter, r *http.Request) {
		res, err := coldStarts(r.Context(), quiet)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(rw).Encode(res)
	})

	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	targets := []struct {
		name string
		h    http.Handler
		path string
	}{{"bare", bare, "/"}, {"nats", viaNATS, "/"}, {"jetstream", viaJS, "/"}, {"control", ctl, "/"}}
	for _, t := range targets {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: t.h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		fmt.Printf("target %s http://%s%s\n", t.name, ln.Addr(), t.path)
	}
	fmt.Printf("target gateway http://%s/echo\n", gln.Addr())
	fmt.Printf("target node http://%s/node\n", gln.Addr())
	fmt.Printf("target greet http://%s/greet?name=bench\n", gln.Addr())
	fmt.Printf("target pygreet http://%s/pygreet?name=bench\n", gln.Addr())
	fmt.Printf("target keyed http://%s/keyed\n", gln.Addr())
	fmt.Printf("target unkeyed http://%s/keyed\n", gln.Addr())
	fmt.Printf("target async http://%s/async\n", gln.Addr())
	fmt.Printf("target cpu1 http://%s/cpu1\n", gln.Addr())
	fmt.Printf("target cpu2 http://%s/cpu2\n", gln.Addr())
	fmt.Printf("target stream http://%s/stream?n=10&ms=0\n", gln.Addr())
	fmt.Println("ready")
	err = g.Serve(ctx, gln, nil)
	_ = w.Drain(context.Background())
	return err
}

// coldStartRuns is how many cold starts coldStarts measures per runtime.
const coldStartRuns = 20

// coldStarts measures the cold starts of each runtime: two functions under
// a process limit of one, called in turn, so that every call evicts the
// other and starts its own process.
func coldStarts(ctx context.Context, log *slog.Logger) (map[string]map[string]float64, error) {
	code := map[string][2]string{
		"node":   {"index.js", "exports.main = async () => 'ok';\n"},
		"python": {"index.py", "def main(event, context):\n    return 'ok'\n"},
	}
	res := map[string]map[string]float64{}
	for lang, c := range code {
		dir, err := os.MkdirTemp("", "fngate-bench-cold-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		for _, fn := range []string{"a", "b"} {
			if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, fn, c[0]), []byte(c[1]), 0o644); err != nil {
				return nil, err
			}
		}
		var mu sync.Mutex
		var took []float64
		rt, err := fnruntime.New(ctx, fnruntime.Config{Dir: dir, Logger: log, MaxProcs: 1, IdleTimeout: -1,
			OnColdStart: func(_, _ string, d time.Duration) {
				mu.Lock()
				took = append(took, d.Seconds()*1000)
				mu.Unlock()
			}})
		if err != nil {
			return nil, err
		}
		for i := range coldStartRuns {
			ev := &event.Event{HTTPMethod: "GET", Path: "/", Headers: map[string]string{}, QueryStringParameters: map[string]string{}}
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := rt.Handler([]string{"a", "b"}[i%2]).(worker.RawHandler).InvokeRaw(cctx, ev.AppendJSON(nil))
			cancel()
			if err != nil {
				_ = rt.Close()
				return nil, fmt.Errorf("%s cold start: %w", lang, err)
			}
		}
		_ = rt.Close()
		mu.Lock()
		sort.Float64s(took)
		res[lang] = map[string]float64{"n": float64(len(took)), "p50ms": took[len(took)/2], "p99ms": took[(len(took)*99)/100]}
		mu.Unlock()
	}
	return res, nil
}

type drainResult struct {
	Invocations int64   `json:"invocations"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"perSecond"`
}

// drain runs a worker on the queued echo invocations until none is left.
func drain(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, invs *store.Invocations, log *slog.Logger) (*drainResult, error) {
	defer nc.Close()
	cons, err := queue.EnsureConsumer(ctx, js, "echo", queue.ConsumerConfig{})
	if err != nil {
		return nil, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, err
	}
	n := int64(info.NumPending) + int64(info.NumAckPending)
	wjs, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	w, err := worker.New(nc, worker.Config{Logger: log})
	if err != nil {
		return nil, err
	}
	if err := w.Handle("echo", sdk.HandlerFunc(builtin.Echo)); err != nil {
		return nil, err
	}
	if err := w.EnableAsync(worker.AsyncConfig{JetStream: wjs, Records: invs}); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		info, err := cons.Info(ctx)
		if err != nil {
			return nil, err
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if err := w.Drain(ctx); err != nil {
		return nil, err
	}
	return &drainResult{Invocations: n, Seconds: elapsed.Seconds(), PerSecond: float64(n) / elapsed.Seconds()}, nil
}

// startCPUWorker starts this binary as a worker process serving the
// built-in cpu as function fn, with GOMAXPROCS=1, and waits until it has
// subscribed. The returned func stops it. The process also exits when its
// stdin closes, so it never outlives a benchserver that was killed.
func startCPUWorker(natsURL, fn string) (stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-cpu-worker", fn, "-nats-url", natsURL)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("cpu worker said %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case err = <-ready:
	case <-time.After(30 * time.Second):
		err = errors.New("cpu worker not ready within 30s")
	}
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// runCPUWorker is the -cpu-worker process: a worker serving the built-in
// cpu as fn until stdin closes or a signal comes.
func runCPUWorker(natsURL, fn string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	nc, err := nats.Connect(natsURL, nats.Name("bench-cpu-worker"))
	if err != nil {
		return err
	}
	defer nc.Close()
	w, err := worker.New(nc, worker.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := w.Handle(fn, sdk.HandlerFunc(builtin.CPU)); err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchserver: cpu worker %d serving %s with GOMAXPROCS=%d\n", os.Getpid(), fn, runtime.GOMAXPROCS(0))
	fmt.Println("ready")
	<-ctx.Done()
	return w.Drain(context.Background())
}
