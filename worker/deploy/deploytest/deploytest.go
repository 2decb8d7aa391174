// Package deploytest starts workers that serve deployed functions, for
// tests on a gatewaytest stack.
package deploytest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/deploy"
	"github.com/fngate/fngate/worker/runtime"
)

// Worker starts a worker on s, with cfg, that serves the functions
// deployed through the stack's gateways (those cfg.Functions matches)
// from an empty folder of its own. Heartbeats come every 100 ms unless
// cfg says otherwise. Both stop at cleanup.
func Worker(t testing.TB, s *gt.Stack, cfg worker.Config) *worker.Worker {
	t.Helper()
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 100 * time.Millisecond
	}
	w := s.Worker(cfg, nil)
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	d, err := deploy.New(context.Background(), w, deploy.Config{
		Store: s.CodeStore(js), Dir: t.TempDir(), Logger: gt.Logger(t),
		Runtime: runtime.Config{Logger: gt.Logger(t), IdleTimeout: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last registered first: the worker drains while its
	// functions' processes are there, then they stop.
	t.Cleanup(func() { _ = d.Close() })
	t.Cleanup(func() { _ = w.Drain(context.Background()) })
	return w
}
