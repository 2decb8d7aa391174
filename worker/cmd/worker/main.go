// Command worker serves fngate functions over NATS: the built-in Go
// functions (package builtin) and, with FNGATE_FUNCTIONS_DIR, Node.js
// functions. Start as many as you like: they share each function's load
// through NATS queue groups. SIGTERM drains: nothing received is lost.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/envflag"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

type options struct {
	w        worker.Config
	natsURL  string
	builtins []string
	logLevel string
}

func parse(args []string) (*options, error) {
	o := &options{}
	s := envflag.New("worker")
	s.String(&o.natsURL, "nats-url", "FNGATE_NATS_URL", "nats://127.0.0.1:4222", "NATS server URLs, comma-separated")
	s.Int(&o.w.Concurrency, "concurrency", "FNGATE_CONCURRENCY", 64, "invocations of one function run at once by this worker")
	s.Duration(&o.w.DrainTimeout, "drain-timeout", "FNGATE_DRAIN_TIMEOUT", 30*time.Second, "how long in-flight invocations may finish after SIGTERM")
	s.List(&o.builtins, "builtins", "FNGATE_BUILTINS", []string{"all"}, "built-in Go functions to serve: all, none, or names")
	s.String(&o.logLevel, "log-level", "FNGATE_LOG_LEVEL", "info", "debug, info, warn or error")
	if err := s.Parse(args); err != nil {
		return nil, err
	}
	return o, nil
}

func main() {
	o, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "worker: FNGATE_LOG_LEVEL:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	o.w.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Error("worker exited", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o *options) error {
	log := o.w.Logger
	nc, err := connect(ctx, o.natsURL, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	w, err := worker.New(nc, o.w)
	if err != nil {
		return err
	}
	if err := registerBuiltins(w, o.builtins); err != nil {
		return err
	}
	if len(w.Functions()) == 0 {
		return fmt.Errorf("no functions to serve: set FNGATE_BUILTINS")
	}
	if err := w.Run(ctx); err != nil {
		return err
	}
	return nc.Drain()
}

func registerBuiltins(w *worker.Worker, names []string) error {
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
		if err := w.Handle(n, h); err != nil {
			return err
		}
	}
	return nil
}

// connect dials NATS, retrying with backoff until ctx ends: the gateway
// that embeds NATS may start after the worker.
func connect(ctx context.Context, url string, log *slog.Logger) (*nats.Conn, error) {
	b := backoff.NewExponentialBackOff(backoff.WithMaxInterval(2*time.Second), backoff.WithMaxElapsedTime(0))
	return backoff.RetryNotifyWithData(func() (*nats.Conn, error) {
		return nats.Connect(url,
			nats.Name("fngate-worker"),
			nats.MaxReconnects(-1),
			nats.ReconnectWait(250*time.Millisecond),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("NATS disconnected", "err", err) }),
			nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", c.ConnectedUrl()) }),
		)
	}, backoff.WithContext(b, ctx), func(err error, d time.Duration) {
		log.Warn("waiting for NATS", "url", url, "err", err, "retry_in", d.String())
	})
}
