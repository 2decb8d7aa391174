// Command natsfleet measures NATS at a fleet of functions: N trivial Node.js
// functions served by W workers on one embedded NATS server, then the
// subscriptions (and JetStream consumers) the server holds and the CPU the
// whole process (server and idle workers) spends over an idle period: sync
// only with the runtimes' folder pollers off and then on, and, given a Redis
// (-redis-url), with async invocations enabled (a durable pull consumer per
// function, pulled by every worker). Figures for issue #16; run it from the
// repository root:
//
//	go run ./scripts/natsfleet -functions 1000 -workers 3 -idle 30s [-redis-url redis://127.0.0.1:6379/0]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/natsserver"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/worker"
	fnruntime "github.com/fngate/fngate/worker/runtime"
)

func main() {
	n := flag.Int("functions", 1000, "functions in the folder")
	workers := flag.Int("workers", 3, "workers serving the folder")
	idle := flag.Duration("idle", 30*time.Second, "idle period measured, per phase")
	redisURL := flag.String("redis-url", "", "a Redis for invocation records: adds the phase with async invocations")
	flag.Parse()
	if err := run(*n, *workers, *idle, *redisURL); err != nil {
		fmt.Fprintln(os.Stderr, "natsfleet:", err)
		os.Exit(1)
	}
}

func run(n, workers int, idle time.Duration, redisURL string) error {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tmp, err := os.MkdirTemp("", "fngate-natsfleet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "functions")
	for i := range n {
		name := fmt.Sprintf("fn-%04d", i)
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name, "index.js"), []byte("exports.main = async () => 'ok';\n"), 0o644); err != nil {
			return err
		}
	}
	ns, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:-1", StoreDir: filepath.Join(tmp, "nats")})
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	var invs *store.Invocations
	phases := []struct {
		poll  time.Duration
		async bool
	}{{-1, false}, {time.Second, false}}
	if redisURL != "" {
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			return err
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		invs = store.NewInvocations(rdb, time.Hour)
		defer invs.Close()
		phases = append(phases, struct {
			poll  time.Duration
			async bool
		}{-1, true})
	}
	for _, ph := range phases {
		poll := ph.poll
		var stops []func()
		if ph.async {
			nc, err := nats.Connect(ns.ClientURL())
			if err != nil {
				return err
			}
			js, _ := jetstream.New(nc)
			if err := queue.EnsureStreams(ctx, js, queue.Config{}); err != nil {
				return err
			}
			nc.Close()
		}
		for range workers {
			nc, err := nats.Connect(ns.ClientURL())
			if err != nil {
				return err
			}
			rt, err := fnruntime.New(ctx, fnruntime.Config{Dir: dir, Logger: quiet, ReloadInterval: poll})
			if err != nil {
				return err
			}
			w, err := worker.New(nc, worker.Config{Logger: quiet})
			if err != nil {
				return err
			}
			if ph.async {
				js, _ := jetstream.New(nc)
				if err := w.EnableAsync(worker.AsyncConfig{JetStream: js, Records: invs}); err != nil {
					return err
				}
			}
			if err := rt.Follow(ctx, w); err != nil {
				return err
			}
			if err := w.Start(ctx); err != nil {
				return err
			}
			stops = append(stops, func() { _ = w.Drain(ctx); _ = rt.Close(); nc.Close() })
		}
		time.Sleep(2 * time.Second)
		c0 := cpuTicks()
		time.Sleep(idle)
		c1 := cpuTicks()
		consumers := 0
		if ph.async {
			nc, err := nats.Connect(ns.ClientURL())
			if err != nil {
				return err
			}
			js, _ := jetstream.New(nc)
			info, err := js.AccountInfo(ctx)
			nc.Close()
			if err != nil {
				return err
			}
			consumers = info.Consumers
		}
		fmt.Printf("functions %d, workers %d, folder poll %s, async %v: subscriptions %d, consumers %d, idle CPU %.1f%% of one core over %s (server and workers)\n",
			n, workers, poll, ph.async, ns.NumSubscriptions(), consumers, float64(c1-c0)/100/idle.Seconds()*100, idle)
		for _, s := range stops {
			s()
		}
	}
	return nil
}

// cpuTicks returns this process's user and system CPU time, in clock ticks
// (1/100 s on Linux).
func cpuTicks() int {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}
