package natsserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
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
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		MaxPayload: cfg.MaxPayload,
		NoSigs:     true,
		NoLog:      true,
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
