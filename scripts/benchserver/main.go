// Command benchserver serves the targets scripts/bench.sh loads, all in one
// process so that every target runs under the same conditions:
//
//	bare     a bare gin handler answering the request body
//	nats     gin → NATS request-reply → a bare responder (no routing, no event)
//	gateway  the fngate gateway → NATS → a worker running the built-in echo
//
// It prints one "target name url" line per target, then "ready", and serves
// until SIGINT or SIGTERM. It listens on 127.0.0.1 only.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/shared/natsserver"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

func main() {
	redisURL := flag.String("redis-url", "", "Redis URL for the gateway's routes (required)")
	storeDir := flag.String("store-dir", "", "JetStream store directory (default: a temp dir)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile at exit to this file")
	flag.Parse()
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
	if err := run(*redisURL, *storeDir); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(redisURL, storeDir string) error {
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

	ns, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:-1", StoreDir: storeDir})
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

	// gateway: the whole fngate path with the built-in echo function.
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	routes := store.NewRoutes(rdb)
	benchRoutes := []route.Route{{Domain: "*", Path: "/", Function: "echo"}}
	if err := routes.Put(ctx, benchRoutes); err != nil {
		return err
	}
	wnc := conn("bench-worker")
	defer wnc.Close()
	w, err := worker.New(wnc, worker.Config{Logger: quiet})
	if err != nil {
		return err
	}
	if err := w.Handle("echo", worker.HandlerFunc(builtin.Echo)); err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	gnc := conn("bench-gateway")
	defer gnc.Close()
	g, err := gateway.New(gateway.Config{AdminAddr: "127.0.0.1:0", Logger: quiet}, gateway.Deps{NATS: gnc, Routes: routes})
	if err != nil {
		return err
	}

	targets := []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"nats", viaNATS}}
	for _, t := range targets {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: t.h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		fmt.Printf("target %s http://%s/\n", t.name, ln.Addr())
	}
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("target gateway http://%s/echo\n", gln.Addr())
	fmt.Println("ready")
	err = g.Serve(ctx, gln, nil)
	_ = w.Drain(context.Background())
	return err
}
