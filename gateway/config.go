package gateway

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/fngate/fngate/gateway/console"
	"github.com/fngate/fngate/gateway/internal/origin"
	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/route"
)

// Config configures a Gateway. Fields map one to one to FNGATE_* variables
// and flags (see the README's configuration table).
type Config struct {
	HTTPAddr   string // FNGATE_HTTP_ADDR, default ":8080"
	AdminAddr  string // FNGATE_ADMIN_ADDR, default ":8081"
	AdminToken string // FNGATE_ADMIN_TOKEN; required unless AdminAddr is loopback
	// DefaultDomains are the hosts that routes with domain "default" match.
	DefaultDomains []string // FNGATE_DEFAULT_DOMAINS, default localhost,127.0.0.1
	EnvID          string   // FNGATE_ENV_ID, copied into requestContext.envId
	// MaxBodyBytes bounds request bodies; larger ones get 413. Default 6 MB.
	MaxBodyBytes int64 // FNGATE_MAX_BODY_BYTES
	// AsyncMaxBody bounds the bodies of asynchronous invocations instead:
	// each is stored in JetStream until it runs, where a sync body only
	// passes through. Default DefaultAsyncMaxBody, or MaxBodyBytes if lower.
	AsyncMaxBody int64 // FNGATE_ASYNC_MAX_BODY
	// MaxDelay bounds X-Invocation-Delay and X-Invocation-At (default
	// DefaultMaxDelay, at most MaxDelayLimit: the invocation stream keeps
	// nothing longer).
	MaxDelay time.Duration // FNGATE_MAX_DELAY
	// MaxDelayedBytes bounds the bytes of delayed invocations waiting in
	// the schedules stream (default DefaultMaxDelayedBytes; -1 unbounded):
	// past it a delayed accept gets 503 QUEUE_FULL. The stream itself
	// cannot refuse (JetStream schedules need DiscardOld, which would drop
	// accepted work), so the gateway checks it, from a reading at most
	// delayedCheckEvery old.
	MaxDelayedBytes int64 // FNGATE_DELAYED_MAX_BYTES
	// MaxCodeBytes bounds a function's code archive (PUT
	// /admin/functions/<name>/code); larger get 413 CODE_TOO_LARGE.
	// Default DefaultMaxCodeBytes.
	MaxCodeBytes int64 // FNGATE_MAX_CODE_BYTES
	// MaxCodeUnpackedBytes bounds what a code archive unpacks to (a zip
	// bomb is small on the wire): larger get 413 ARCHIVE_TOO_LARGE.
	// Default codestore.DefaultMaxUnpackedBytes.
	MaxCodeUnpackedBytes int64 // FNGATE_MAX_CODE_UNPACKED_BYTES
	// MaxHeaderBytes bounds the request line plus headers; larger get 431.
	MaxHeaderBytes int // FNGATE_MAX_HEADER_BYTES, default 64 KiB
	// NoWorkerWait bounds how long a call that finds no worker subscribed is
	// retried (within the route's deadline) before it gets 503. Default 5s.
	NoWorkerWait time.Duration // FNGATE_NO_WORKER_WAIT
	// RoutesResync is how often the route table version is checked in Redis,
	// healing missed change notifications. Default 5s.
	RoutesResync time.Duration // FNGATE_ROUTES_RESYNC
	// ShutdownTimeout bounds how long in-flight requests may run after a
	// stop signal. Default 30s.
	ShutdownTimeout time.Duration // FNGATE_SHUTDOWN_TIMEOUT
	// ReadTimeout bounds reading a whole request, body included; default
	// 60s. WriteTimeout bounds a whole exchange and defaults to the longest
	// route timeout (15m) plus 30s. IdleTimeout closes idle keep-alive
	// connections; default 2m.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration // FNGATE_READ_TIMEOUT, FNGATE_WRITE_TIMEOUT, FNGATE_IDLE_TIMEOUT
	// TrustedProxies are CIDRs or IPs whose X-Forwarded-For is believed for
	// requestContext.sourceIp. Default none: the peer address is used.
	TrustedProxies []string // FNGATE_TRUSTED_PROXIES
	// PublicURL is the base URL callers use to reach the public listener;
	// the console shows each route's URL and curl line with it. Default
	// http://localhost:<port of HTTPAddr>.
	PublicURL string // FNGATE_PUBLIC_URL
	// MaxInflight bounds the public requests served at once and
	// MaxInflightBytes the request-body bytes they hold (a declared
	// Content-Length is reserved whole before reading, a chunked body as it
	// arrives). Past either a request gets 503 OVERLOADED with Retry-After,
	// its body unread. Defaults: DefaultMaxInflight, 256 MiB.
	MaxInflight      int64 // FNGATE_MAX_INFLIGHT
	MaxInflightBytes int64 // FNGATE_MAX_INFLIGHT_BYTES

	// IdempotencyGrace is how long past a route's deadline the gateway
	// keeps waiting for the reply of a call that holds an Idempotency-Key
	// (its client gone or answered 504), to store what the function did.
	IdempotencyGrace time.Duration // FNGATE_IDEMPOTENCY_GRACE, default 30s
	// SeedRoutes (the routes of FNGATE_ROUTES) are written back to the
	// store when it lost its route table (see SyncRoutes).
	SeedRoutes []route.Route
	// LoadSeedRoutes, when SeedRoutes is empty, reads the routes to write
	// back when they are needed (FNGATE_ROUTES read again): a gateway need
	// not hold 100,000 parsed routes for a loss that may never come. When
	// it fails, the table served is written back.
	LoadSeedRoutes func() ([]route.Route, error)

	// RedactHeaders are the request headers whose values invocation
	// records keep as "[redacted]" (async calls, recorded failures); the
	// function still receives them. Default DefaultRedactHeaders; "none"
	// alone redacts nothing.
	RedactHeaders []string // FNGATE_REDACT_HEADERS

	Logger *slog.Logger
}

// DefaultRedactHeaders are the credentials kept out of stored events.
var DefaultRedactHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization"}

// Defaults.
const (
	DefaultHTTPAddr     = ":8080"
	DefaultAdminAddr    = ":8081"
	DefaultMaxBodyBytes = 6_000_000
	// DefaultAsyncMaxBody is Lambda's limit for asynchronous invocations.
	DefaultAsyncMaxBody   = 1 << 20
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxCodeBytes is AWS Lambda's limit of a zipped upload.
	DefaultMaxCodeBytes    = 50 << 20
	DefaultNoWorkerWait    = 5 * time.Second
	DefaultRoutesResync    = 5 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
	// MinAdminTokenLen is the shortest admin token accepted: the console's
	// sign-in is throttled, the bearer check is not.
	MinAdminTokenLen = 16
	// DefaultMaxInflight fits the Helm chart's 512Mi limit (GOMEMLIMIT 90%
	// of it, 460MiB): a request in flight without a body costs some 27 KiB of RSS
	// (measured: goroutine, connection buffers, request, event, NATS
	// message), so 4096 of them take about 110 MiB next to the process's
	// own ~35 MiB. A body costs about 5 times its size (the body, the event
	// that carries it, NATS buffers): the default body budget needs ~1.3
	// GiB of headroom at its worst, and the manifest sets 64 MiB.
	DefaultMaxInflight      = 4096
	DefaultMaxInflightBytes = 256 << 20

	DefaultIdempotencyGrace = 30 * time.Second
)

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.HTTPAddr = cmp.Or(c.HTTPAddr, DefaultHTTPAddr)
	c.AdminAddr = cmp.Or(c.AdminAddr, DefaultAdminAddr)
	if c.DefaultDomains == nil {
		c.DefaultDomains = []string{"localhost", "127.0.0.1"}
	}
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	if c.AsyncMaxBody == 0 {
		// Unset, it never exceeds the body limit someone lowered.
		c.AsyncMaxBody = min(DefaultAsyncMaxBody, c.MaxBodyBytes)
	}
	c.MaxHeaderBytes = cmp.Or(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	c.MaxCodeBytes = cmp.Or(c.MaxCodeBytes, DefaultMaxCodeBytes)
	c.MaxCodeUnpackedBytes = cmp.Or(c.MaxCodeUnpackedBytes, codestore.DefaultMaxUnpackedBytes)
	c.MaxDelay = cmp.Or(c.MaxDelay, DefaultMaxDelay)
	c.MaxDelayedBytes = cmp.Or(c.MaxDelayedBytes, DefaultMaxDelayedBytes)
	c.NoWorkerWait = cmp.Or(c.NoWorkerWait, DefaultNoWorkerWait)
	c.RoutesResync = cmp.Or(c.RoutesResync, DefaultRoutesResync)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	c.ReadTimeout = cmp.Or(c.ReadTimeout, 60*time.Second)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, 15*time.Minute+30*time.Second)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, 2*time.Minute)
	if c.PublicURL == "" {
		port := "8080"
		if _, p, err := net.SplitHostPort(c.HTTPAddr); err == nil && p != "" && p != "0" {
			port = p
		}
		c.PublicURL = "http://localhost:" + port
	}
	c.MaxInflight = cmp.Or(c.MaxInflight, DefaultMaxInflight)
	c.MaxInflightBytes = cmp.Or(c.MaxInflightBytes, DefaultMaxInflightBytes)
	c.IdempotencyGrace = cmp.Or(c.IdempotencyGrace, DefaultIdempotencyGrace)
	if c.RedactHeaders == nil {
		c.RedactHeaders = slices.Clone(DefaultRedactHeaders)
	}
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c
}

// redactSet is RedactHeaders as canonical header names.
func (c Config) redactSet() map[string]bool {
	set := map[string]bool{}
	if len(c.RedactHeaders) == 1 && strings.EqualFold(c.RedactHeaders[0], "none") {
		return set
	}
	for _, h := range c.RedactHeaders {
		set[textproto.CanonicalMIMEHeaderKey(h)] = true
	}
	return set
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.MaxBodyBytes < 0:
		return errors.New("gateway: MaxBodyBytes must not be negative")
	case c.AsyncMaxBody < 0:
		return errors.New("gateway: AsyncMaxBody must not be negative")
	case c.MaxDelayedBytes < -1:
		return errors.New("gateway: MaxDelayedBytes must be positive, or -1 for unbounded")
	case c.MaxDelay < 0 || c.MaxDelay > MaxDelayLimit:
		return fmt.Errorf("gateway: MaxDelay must be between 0 and %s (the invocation stream's MaxAge)", MaxDelayLimit)
	case c.MaxCodeBytes < 1 || c.MaxCodeUnpackedBytes < 1:
		return errors.New("gateway: MaxCodeBytes and MaxCodeUnpackedBytes must be positive")
	case c.MaxHeaderBytes < 1024:
		return errors.New("gateway: MaxHeaderBytes must be at least 1024")
	case c.MaxInflight < 1:
		return errors.New("gateway: MaxInflight must be at least 1")
	case c.MaxInflightBytes < max(c.MaxBodyBytes, c.AsyncMaxBody):
		// A body between the two could never be served: refused as
		// overload, and retried forever.
		return errors.New("gateway: MaxInflightBytes must be at least MaxBodyBytes and AsyncMaxBody")
	case c.NoWorkerWait < 0 || c.RoutesResync < 100*time.Millisecond || c.ShutdownTimeout < 0:
		return errors.New("gateway: NoWorkerWait and ShutdownTimeout must not be negative, RoutesResync at least 100ms")
	case c.IdempotencyGrace < 0:
		return errors.New("gateway: IdempotencyGrace must not be negative")
	}
	if len(c.RedactHeaders) != 1 || !strings.EqualFold(c.RedactHeaders[0], "none") {
		for _, h := range c.RedactHeaders {
			if !httpguts.ValidHeaderFieldName(h) {
				return fmt.Errorf("gateway: FNGATE_REDACT_HEADERS: %q is not a header name (\"none\" alone redacts nothing)", h)
			}
		}
	}
	if err := (console.Config{PublicURL: c.PublicURL}).WithDefaults().Validate(); err != nil {
		return fmt.Errorf("gateway: FNGATE_PUBLIC_URL: %w", err)
	}
	if c.AdminToken != "" && len(c.AdminToken) < MinAdminTokenLen {
		return fmt.Errorf("gateway: FNGATE_ADMIN_TOKEN has %d characters, fewer than %d: use a long random one (openssl rand -hex 32)", len(c.AdminToken), MinAdminTokenLen)
	}
	if c.AdminToken == "" && !IsLoopback(c.AdminAddr) {
		return fmt.Errorf("gateway: admin listener %q is not loopback and FNGATE_ADMIN_TOKEN is empty: set a token or listen on 127.0.0.1", c.AdminAddr)
	}
	return nil
}

// IsLoopback reports whether addr (host:port) listens on loopback only.
func IsLoopback(addr string) bool {
	_, _, err := net.SplitHostPort(addr)
	return err == nil && origin.LoopbackHost(addr)
}
