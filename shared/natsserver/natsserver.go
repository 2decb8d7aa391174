package natsserver

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultMaxPayload is the embedded server's max_payload: 16 MiB, room for
// the gateway's default 6 MB body limit after base64 and the event around it.
const DefaultMaxPayload = 16 << 20

// Config describes an embedded server.
type Config struct {
	// Listen is host:port for clients; port -1 picks a free one.
	Listen string
	// StoreDir is JetStream's file store directory.
	StoreDir string
	// MaxPayload defaults to DefaultMaxPayload.
	MaxPayload int32
	// Name is the server name (defaults to "fngate-embedded").
	Name string
	// Sync is JetStream's flush policy (default DefaultSync).
	Sync Sync
}

// Sync is when JetStream makes its writes durable with fsync: after every
// write (Always), or every Interval (what was written since is in the OS's
// page cache: it survives the process, not the machine).
type Sync struct {
	Always   bool
	Interval time.Duration
}

// DefaultSync is a 1 second interval: an OS crash or power loss loses at
// most the last second or so of acknowledged publishes (nats-server's own
// default, 2 minutes, loses up to two), at no cost measurable with
// scripts/bench.sh; Always made every acknowledged publish survive it but
// cut JetStream publishes from about 13,000 to 500 a second there (an
// fsync each). See the README's durability section.
var DefaultSync = Sync{Interval: time.Second}

// ParseSync reads "always" or a Go duration such as "1s" (at least 10ms).
func ParseSync(v string) (Sync, error) {
	if strings.EqualFold(v, "always") {
		return Sync{Always: true}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 10*time.Millisecond {
		return Sync{}, fmt.Errorf("natsserver: sync %q is neither \"always\" nor a duration of at least 10ms", v)
	}
	return Sync{Interval: d}, nil
}

// String is the form ParseSync reads.
func (s Sync) String() string {
	if s.Always {
		return "always"
	}
	return s.Interval.String()
}

// Start runs a server and waits until it accepts clients.
func Start(cfg Config) (*server.Server, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("natsserver: listen %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("natsserver: listen %q: bad port", cfg.Listen)
	}
	if cfg.StoreDir == "" {
		return nil, errors.New("natsserver: StoreDir is required for JetStream")
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.Name == "" {
		cfg.Name = "fngate-embedded"
	}
	if cfg.Sync == (Sync{}) {
		cfg.Sync = DefaultSync
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		MaxPayload: cfg.MaxPayload,
		// As nats-server's own "sync" option sets them: with "always"
		// the interval is its default, 2 minutes.
		SyncAlways:   cfg.Sync.Always,
		SyncInterval: cmp.Or(cfg.Sync.Interval, 2*time.Minute),
		NoSigs:       true,
		NoLog:        true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsserver: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("natsserver: not ready to accept clients on %s within 10s", cfg.Listen)
	}
	return s, nil
}
