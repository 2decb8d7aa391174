// Package natsconn builds the options of the gateway's and the worker's NATS
// connections in one place: client name, endless reconnects, logging of
// disconnects, and the security settings (a .creds file, user and password,
// TLS with a private CA and a client certificate), each with its FNGATE_*
// variable and equal flag.
package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/fngate/fngate/shared/envflag"
)

// Security is how a client proves who it is to NATS and secures the
// connection. The zero value adds nothing: credentials in the URL
// (nats://user:password@host:4222) keep working either way.
type Security struct {
	// Creds is a .creds file (user JWT and seed), for servers in operator
	// mode. Exclusive with User.
	Creds string
	// User and Password for servers with a users list (nats.UserInfo).
	User, Password string
	// TLSCA is a PEM file of the CAs that signed the server's certificate;
	// empty trusts the system's roots. Setting it turns TLS on.
	TLSCA string
	// TLSCert and TLSKey are the client certificate and its key, for
	// servers that verify clients (tls { verify: true }). Setting them turns
	// TLS on.
	TLSCert, TLSKey string
}

// Bind registers sec's FNGATE_NATS_* variables and flags on s.
func (sec *Security) Bind(s *envflag.Set) {
	s.String(&sec.Creds, "nats-creds", "FNGATE_NATS_CREDS", "", "NATS user credentials file (.creds: user JWT and seed)")
	s.String(&sec.User, "nats-user", "FNGATE_NATS_USER", "", "NATS user name (a user in the URL works too)")
	s.Secret(&sec.Password, "nats-password", "FNGATE_NATS_PASSWORD", "NATS password of FNGATE_NATS_USER")
	s.String(&sec.TLSCA, "nats-tls-ca", "FNGATE_NATS_TLS_CA", "", "PEM file of the CAs that signed the NATS server's certificate (turns TLS on)")
	s.String(&sec.TLSCert, "nats-tls-cert", "FNGATE_NATS_TLS_CERT", "", "PEM client certificate for NATS servers that verify clients (with FNGATE_NATS_TLS_KEY)")
	s.String(&sec.TLSKey, "nats-tls-key", "FNGATE_NATS_TLS_KEY", "", "PEM key of FNGATE_NATS_TLS_CERT")
}

// IsZero reports whether sec sets nothing.
func (sec Security) IsZero() bool { return sec == Security{} }

// Options returns the nats.Options for sec. Every file is read and parsed
// here, so a missing or bad file is an error at start rather than a
// connection that keeps failing; the files are read again on each
// reconnect, so rotated certificates and credentials are picked up.
func (sec Security) Options() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case sec.TLSCert != "" && sec.TLSKey == "":
		return nil, errors.New("FNGATE_NATS_TLS_CERT is set without FNGATE_NATS_TLS_KEY")
	case sec.TLSKey != "" && sec.TLSCert == "":
		return nil, errors.New("FNGATE_NATS_TLS_KEY is set without FNGATE_NATS_TLS_CERT")
	case sec.Password != "" && sec.User == "":
		return nil, errors.New("FNGATE_NATS_PASSWORD is set without FNGATE_NATS_USER")
	case sec.Creds != "" && sec.User != "":
		return nil, errors.New("FNGATE_NATS_CREDS and FNGATE_NATS_USER are exclusive: a server authenticates a client one way")
	}
	if sec.Creds != "" {
		if err := checkCreds(sec.Creds); err != nil {
			return nil, fmt.Errorf("FNGATE_NATS_CREDS: %w", err)
		}
		opts = append(opts, nats.UserCredentials(sec.Creds))
	}
	if sec.User != "" {
		opts = append(opts, nats.UserInfo(sec.User, sec.Password))
	}
	// Both options load their files when applied: apply them to a scratch
	// Options to report a bad file now, naming its variable.
	var scratch nats.Options
	if sec.TLSCA != "" {
		o := nats.RootCAs(sec.TLSCA)
		if err := o(&scratch); err != nil {
			return nil, fmt.Errorf("FNGATE_NATS_TLS_CA: %w", err)
		}
		opts = append(opts, o)
	}
	if sec.TLSCert != "" {
		o := nats.ClientCert(sec.TLSCert, sec.TLSKey)
		if err := o(&scratch); err != nil {
			return nil, fmt.Errorf("FNGATE_NATS_TLS_CERT, FNGATE_NATS_TLS_KEY: %w", err)
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// checkCreds reads a .creds file as nats.UserCredentials will on connect.
func checkCreds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if jwt, err := nkeys.ParseDecoratedJWT(b); err != nil || jwt == "" {
		return fmt.Errorf("%s: no user JWT", path)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return fmt.Errorf("%s: no user seed: %w", path, err)
	}
	kp.Wipe()
	return nil
}

// Options returns the options of one of fngate's long-lived connections:
// the client name, reconnecting forever every 250ms, disconnects and
// reconnects logged, and sec's credentials and TLS.
func Options(name string, sec Security, log *slog.Logger) ([]nats.Option, error) {
	secure, err := sec.Options()
	if err != nil {
		return nil, err
	}
	return append([]nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("NATS disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", c.ConnectedUrl()) }),
	}, secure...), nil
}
