package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/envflag"
	"github.com/fngate/fngate/shared/natsconn"
	"github.com/fngate/fngate/shared/natsserver"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/schedule"
	"github.com/fngate/fngate/shared/store"
)

// run wires the concrete NATS and Redis clients into a gateway and serves
// until ctx ends.
func run(ctx context.Context, o *options) error {
	log := o.gw.Logger
	cfg := o.gw.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	qcfg := queue.Config{Replicas: o.streamReplicas, MaxBytes: o.queueMaxBytes, DeadMaxBytes: o.deadMaxBytes, DeadMaxAge: o.deadMaxAge}
	if err := qcfg.Validate(); err != nil {
		return fmt.Errorf("FNGATE_QUEUE_MAX_BYTES, FNGATE_DEAD_MAX_BYTES, FNGATE_DEAD_MAX_AGE: %w", err)
	}
	natsSync, err := natsserver.ParseSync(o.natsSync)
	if err != nil {
		return fmt.Errorf("FNGATE_NATS_SYNC: %w", err)
	}
	natsOpts, err := natsconn.Options("fngate-gateway", o.natsSec, log)
	if err != nil {
		return err
	}
	natsURL := o.natsURL
	if natsURL == "" && !o.natsSec.IsZero() {
		return errors.New("NATS credentials and TLS (FNGATE_NATS_CREDS, FNGATE_NATS_USER, FNGATE_NATS_TLS_*) need FNGATE_NATS_URL: the embedded NATS server has neither users nor TLS")
	}
	if natsURL == "" {
		ns, err := natsserver.Start(natsserver.Config{Listen: o.natsListen, StoreDir: o.natsStore, Sync: natsSync})
		if err != nil {
			return err
		}
		defer func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		}()
		natsURL = ns.ClientURL()
		log.Info("embedded NATS server started", "url", natsURL, "store", o.natsStore, "sync", natsSync.String())
	}
	nc, err := nats.Connect(natsURL, append(natsOpts, nats.RetryOnFailedConnect(true))...)
	if err != nil {
		return fmt.Errorf("connect NATS %s: %w", envflag.Redact(natsURL), err)
	}
	defer nc.Close()
	if err := waitConnected(ctx, nc); err != nil {
		return err
	}
	// The largest event must fit in one NATS message: base64 grows a binary
	// body by 4/3, and the headers are copied into the event twice.
	body := max(cfg.MaxBodyBytes, cfg.AsyncMaxBody)
	need := body*4/3 + 2*int64(cfg.MaxHeaderBytes) + 64<<10
	if mp := nc.MaxPayload(); mp < need {
		return fmt.Errorf("NATS max_payload is %d bytes but a body of %d (FNGATE_MAX_BODY_BYTES, FNGATE_ASYNC_MAX_BODY) needs %d: raise max_payload on the NATS server or lower the body limit", mp, body, need)
	}

	rdb, err := store.NewClient(o.redis)
	if err != nil {
		return fmt.Errorf("FNGATE_REDIS_*: %w", err)
	}
	defer rdb.Close()
	routes := store.NewRoutes(rdb)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	if err := ensureStreams(ctx, js, qcfg); err != nil {
		return err
	}
	code, err := openCodeStore(ctx, js, o.streamReplicas)
	if err != nil {
		return err
	}
	if o.routesFile != "" {
		res, err := applyRoutesFile(ctx, routes, store.NewFunctions(rdb), o.routesFile)
		if err != nil {
			return err
		}
		// Also what the gateway writes back if Redis loses its table: read
		// again then, rather than 100,000 parsed routes held meanwhile.
		cfg.LoadSeedRoutes = func() ([]route.Route, error) { return readRoutesFile(o.routesFile) }
		log.Info("routes file applied", "file", o.routesFile, "unchanged", res.Unchanged, "versions", res.Written)
	}

	invs := store.NewInvocations(rdb, o.recordTTL)
	defer invs.Close()
	idem := store.NewIdempotency(rdb, o.idempotencyTTL)
	defer idem.Close()
	g, err := gateway.New(cfg, gateway.Deps{NATS: nc, Routes: routes, Queue: js, Queued: queue.NewLookup(js), Schedules: schedule.NewStore(js), Invocations: invs, Idempotency: idem, Functions: store.NewFunctions(rdb), Code: code})
	if err != nil {
		return err
	}
	if o.routesFile != "" {
		if err := applySchedulesFile(ctx, g, o.routesFile); err != nil {
			return err
		}
	}
	pub, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	adm, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		pub.Close()
		return fmt.Errorf("listen %s: %w", cfg.AdminAddr, err)
	}
	err = g.Serve(ctx, pub, adm)
	if derr := nc.Drain(); derr != nil && !errors.Is(derr, nats.ErrConnectionClosed) {
		log.Warn("NATS drain", "err", derr)
	}
	return err
}

func waitConnected(ctx context.Context, nc *nats.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for !nc.IsConnected() {
		if nc.IsClosed() { // nats.go gives up on repeated authorization errors
			return fmt.Errorf("NATS refused the connection: %w", nc.LastError())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("NATS not reachable: %w (last error: %v)", ctx.Err(), nc.LastError())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// applyRoutesFile applies the file's function settings (a function the
// file does not list keeps what the admin API set) and its routes to Redis
// as a difference (skipped whole when Redis holds what this very file
// made), retrying for a while since Redis may still be starting.
func applyRoutesFile(ctx context.Context, rs *store.Routes, fs *store.Functions, path string) (store.FileResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return store.FileResult{}, fmt.Errorf("FNGATE_ROUTES: %w", err)
	}
	var fns []route.Function
	// The routes' own parse is skipped when the file is unchanged; a file
	// without the word has no functions section to parse.
	if bytes.Contains(data, []byte("functions")) {
		if fns, err = route.ParseFunctions(data); err != nil {
			return store.FileResult{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	var res store.FileResult
	b := backoff.NewExponentialBackOff(backoff.WithMaxElapsedTime(30 * time.Second))
	err = backoff.Retry(func() error {
		for _, f := range fns {
			if err := fs.Put(ctx, f); err != nil {
				return err
			}
		}
		res, err = rs.ApplyFile(ctx, data)
		if errors.As(err, new(*store.FileError)) {
			return backoff.Permanent(fmt.Errorf("%s: %w", path, err))
		}
		return err
	}, backoff.WithContext(b, ctx))
	return res, err
}

// readRoutesFile reads and parses a routes file.
func readRoutesFile(path string) ([]route.Route, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("FNGATE_ROUTES: %w", err)
	}
	rs, err := route.ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// applySchedulesFile puts the schedules: section of the routes file into
// the schedules stream; schedules stored as the file has them keep their
// timers (every gateway applies the file at start).
func applySchedulesFile(ctx context.Context, g *gateway.Gateway, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("FNGATE_ROUTES: %w", err)
	}
	if !bytes.Contains(data, []byte("schedules")) {
		return nil // no section to parse: 100,000 routes are not parsed again
	}
	scheds, err := schedule.ParseFile(data)
	if err != nil || len(scheds) == 0 {
		return err
	}
	if err := g.EnsureSchedules(ctx, scheds); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// openCodeStore opens the buckets of deployed code, retrying while
// JetStream starts.
func openCodeStore(ctx context.Context, js jetstream.JetStream, replicas int) (*codestore.Store, error) {
	b := backoff.NewExponentialBackOff(backoff.WithMaxElapsedTime(30 * time.Second))
	return backoff.RetryWithData(func() (*codestore.Store, error) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return codestore.Open(cctx, js, codestore.Config{Replicas: replicas})
	}, backoff.WithContext(b, ctx))
}

// ensureStreams creates the invocation streams, retrying while JetStream
// starts (a cluster may take a moment to elect a meta leader).
func ensureStreams(ctx context.Context, js jetstream.JetStream, cfg queue.Config) error {
	b := backoff.NewExponentialBackOff(backoff.WithMaxElapsedTime(30 * time.Second))
	return backoff.Retry(func() error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return queue.EnsureStreams(cctx, js, cfg)
	}, backoff.WithContext(b, ctx))
}
