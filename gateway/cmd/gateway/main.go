// Command gateway is fngate's HTTP front door. With no FNGATE_NATS_URL it
// embeds a NATS server with JetStream. See the README for every setting.
//
// "gateway invocations list|get|replay" is the operators' command line for
// invocation records and dead letters, and "gateway routes
// list|export|apply" for the route table, and "gateway functions
// deploy|versions|rollback" for function code, through a running gateway's
// admin API; "gateway version" prints the build's version and commit
// (package buildinfo).
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/envflag"
	"github.com/fngate/fngate/shared/natsconn"
	"github.com/fngate/fngate/shared/natsserver"
	"github.com/fngate/fngate/shared/process"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/store"
)

// options are the settings of the binary beyond gateway.Config.
type options struct {
	gw         gateway.Config
	natsURL    string
	natsSec    natsconn.Security
	natsListen string
	natsStore  string
	redis      store.ClientConfig
	routesFile string
	logLevel   slog.Level

	streamReplicas int
	queueMaxBytes  int64
	deadMaxBytes   int64
	deadMaxAge     time.Duration
	natsSync       string
	recordTTL      time.Duration
	idempotencyTTL time.Duration
}

func parse(args []string) (*options, error) {
	o := &options{}
	s := envflag.New("gateway")
	s.String(&o.gw.HTTPAddr, "http-addr", "FNGATE_HTTP_ADDR", gateway.DefaultHTTPAddr, "public HTTP listen address")
	s.String(&o.gw.AdminAddr, "admin-addr", "FNGATE_ADMIN_ADDR", gateway.DefaultAdminAddr, "admin API listen address")
	s.Secret(&o.gw.AdminToken, "admin-token", "FNGATE_ADMIN_TOKEN", "bearer token for the admin API; required unless the admin address is loopback")
	s.String(&o.natsURL, "nats-url", "FNGATE_NATS_URL", "", "NATS server URLs, comma-separated; empty embeds a NATS server")
	o.natsSec.Bind(s)
	s.String(&o.natsListen, "nats-listen", "FNGATE_NATS_LISTEN", "127.0.0.1:4222", "where the embedded NATS server listens")
	s.String(&o.natsStore, "nats-store-dir", "FNGATE_NATS_STORE_DIR", "data/nats", "JetStream store directory of the embedded NATS server")
	o.redis.Bind(s, "the shared route table")
	s.String(&o.routesFile, "routes", "FNGATE_ROUTES", "", "routes file (YAML) applied to Redis at start")
	s.List(&o.gw.DefaultDomains, "default-domains", "FNGATE_DEFAULT_DOMAINS", []string{"localhost", "127.0.0.1"}, "hosts that routes with domain \"default\" match")
	s.String(&o.gw.EnvID, "env-id", "FNGATE_ENV_ID", "", "environment id passed in requestContext.envId")
	s.String(&o.gw.PublicURL, "public-url", "FNGATE_PUBLIC_URL", "", "base URL callers reach the public listener at, for the console's URLs and curl lines; default http://localhost:<http port>")
	s.Int64(&o.gw.MaxBodyBytes, "max-body-bytes", "FNGATE_MAX_BODY_BYTES", gateway.DefaultMaxBodyBytes, "largest request body; larger get 413")
	s.Int64(&o.gw.AsyncMaxBody, "async-max-body", "FNGATE_ASYNC_MAX_BODY", 0, "largest body of an asynchronous invocation, larger get 413; 0: 1 MiB, or FNGATE_MAX_BODY_BYTES if lower")
	s.Int64(&o.gw.MaxInflight, "max-inflight", "FNGATE_MAX_INFLIGHT", gateway.DefaultMaxInflight, "most public requests served at once; more get 503 OVERLOADED")
	s.Int64(&o.gw.MaxInflightBytes, "max-inflight-bytes", "FNGATE_MAX_INFLIGHT_BYTES", gateway.DefaultMaxInflightBytes, "most request-body bytes held at once (declared lengths reserved whole); more get 503 OVERLOADED")
	s.Int64(&o.gw.MaxCodeBytes, "max-code-bytes", "FNGATE_MAX_CODE_BYTES", gateway.DefaultMaxCodeBytes, "largest function code archive (PUT /admin/functions/<name>/code); larger get 413")
	s.Int64(&o.gw.MaxCodeUnpackedBytes, "max-code-unpacked-bytes", "FNGATE_MAX_CODE_UNPACKED_BYTES", codestore.DefaultMaxUnpackedBytes, "largest size a function code archive may unpack to (zip bombs); larger get 413")
	s.Int(&o.gw.MaxHeaderBytes, "max-header-bytes", "FNGATE_MAX_HEADER_BYTES", gateway.DefaultMaxHeaderBytes, "largest request line plus headers; larger get 431")
	s.Int64(&o.gw.MaxDelayedBytes, "delayed-max-bytes", "FNGATE_DELAYED_MAX_BYTES", gateway.DefaultMaxDelayedBytes, "most bytes of delayed invocations (the schedules stream, fired copies for a day included); past it a delayed accept answers 503 QUEUE_FULL; -1 unbounded")
	s.Duration(&o.gw.MaxDelay, "max-delay", "FNGATE_MAX_DELAY", gateway.DefaultMaxDelay, "longest X-Invocation-Delay / X-Invocation-At ahead; at most 192h (the invocation stream's MaxAge)")
	s.Duration(&o.gw.NoWorkerWait, "no-worker-wait", "FNGATE_NO_WORKER_WAIT", gateway.DefaultNoWorkerWait, "how long a call with no worker subscribed is retried before 503")
	s.Duration(&o.gw.RoutesResync, "routes-resync", "FNGATE_ROUTES_RESYNC", gateway.DefaultRoutesResync, "how often the route table version is checked in Redis")
	s.Duration(&o.gw.ShutdownTimeout, "shutdown-timeout", "FNGATE_SHUTDOWN_TIMEOUT", gateway.DefaultShutdownTimeout, "how long in-flight requests may finish after SIGTERM")
	s.Duration(&o.gw.ReadTimeout, "read-timeout", "FNGATE_READ_TIMEOUT", 60*time.Second, "longest time to read a whole request, body included")
	s.Duration(&o.gw.WriteTimeout, "write-timeout", "FNGATE_WRITE_TIMEOUT", 15*time.Minute+30*time.Second, "longest time for a whole exchange (keep above the longest route timeout)")
	s.Duration(&o.gw.IdleTimeout, "idle-timeout", "FNGATE_IDLE_TIMEOUT", 2*time.Minute, "idle keep-alive connections are closed after this")
	s.List(&o.gw.TrustedProxies, "trusted-proxies", "FNGATE_TRUSTED_PROXIES", nil, "CIDRs whose X-Forwarded-For is trusted for sourceIp")
	s.List(&o.gw.RedactHeaders, "redact-headers", "FNGATE_REDACT_HEADERS", gateway.DefaultRedactHeaders, "request headers stored as \"[redacted]\" in invocation records (the function still gets them); none: redact nothing")
	s.Int(&o.streamReplicas, "stream-replicas", "FNGATE_STREAM_REPLICAS", 1, "replicas of the JetStream invocation streams (3 in a cluster)")
	s.Int64(&o.queueMaxBytes, "queue-max-bytes", "FNGATE_QUEUE_MAX_BYTES", queue.DefaultMaxBytes, "most bytes the invocation stream holds (per replica); a full queue answers 503 QUEUE_FULL; -1 unbounded")
	s.Int64(&o.deadMaxBytes, "dead-max-bytes", "FNGATE_DEAD_MAX_BYTES", queue.DefaultDeadMaxBytes, "most bytes the dead-letter stream holds (per replica, reserved in JetStream storage); the oldest dead letters give way; -1 unbounded")
	s.Duration(&o.deadMaxAge, "dead-max-age", "FNGATE_DEAD_MAX_AGE", queue.DefaultDeadMaxAge, "how long dead letters are kept")
	s.String(&o.natsSync, "nats-sync", "FNGATE_NATS_SYNC", natsserver.DefaultSync.String(), "when the embedded NATS server fsyncs JetStream writes: always, or an interval such as 1s (see the README on durability)")
	s.Duration(&o.recordTTL, "record-ttl", "FNGATE_RECORD_TTL", store.DefaultRecordTTL, "how long invocation records are kept in Redis")
	s.Duration(&o.idempotencyTTL, "idempotency-ttl", "FNGATE_IDEMPOTENCY_TTL", store.DefaultIdempotencyTTL, "how long the response of an Idempotency-Key is kept")
	s.Duration(&o.gw.IdempotencyGrace, "idempotency-grace", "FNGATE_IDEMPOTENCY_GRACE", gateway.DefaultIdempotencyGrace, "how long past a route's timeout a keyed call keeps waiting for the function's reply to store it")
	s.LogLevel(&o.logLevel, "log-level", "FNGATE_LOG_LEVEL", slog.LevelInfo, "debug, info, warn or error")
	if err := s.Parse(args); err != nil {
		return nil, err
	}
	return o, nil
}

func main() {
	// The operators' commands, through a running gateway's admin API.
	if len(os.Args) > 1 {
		if cli, ok := map[string]func([]string, io.Writer) error{"invocations": invocationsCLI, "routes": routesCLI, "schedules": schedulesCLI, "functions": functionsCLI}[os.Args[1]]; ok {
			if err := cli(os.Args[2:], os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, "gateway "+os.Args[1]+":", err)
				os.Exit(1)
			}
			return
		}
	}
	o := process.Parse("gateway", os.Args[1:], parse)
	log, ctx, stop := process.Start(o.logLevel)
	defer stop()
	o.gw.Logger = log
	start := time.Now()
	if err := run(ctx, o); err != nil {
		log.Error("gateway exited", "err", err, "uptime", time.Since(start).String())
		os.Exit(1)
	}
}
