package natsconn_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/envflag"
	"github.com/fngate/fngate/shared/natsconn"
	"github.com/fngate/fngate/shared/testenv"
)

var quiet = slog.New(slog.DiscardHandler)

// connect dials url with the options natsconn builds for sec, failing at
// once rather than retrying.
func connect(t *testing.T, url string, sec natsconn.Security) (*nats.Conn, error) {
	t.Helper()
	opts, err := natsconn.Options("fngate-test", sec, quiet)
	if err != nil {
		t.Fatalf("options: %v", err)
	}
	nc, err := nats.Connect(url, append(opts, nats.Timeout(5*time.Second))...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// roundTrip answers a request on one connection and sends it on another.
func roundTrip(t *testing.T, responder, requester *nats.Conn) {
	t.Helper()
	sub, err := responder.Subscribe("fngate.test.echo", func(m *nats.Msg) { _ = m.Respond(append([]byte("re: "), m.Data...)) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := responder.Flush(); err != nil {
		t.Fatal(err)
	}
	m, err := requester.Request("fngate.test.echo", []byte("hi"), 5*time.Second)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if string(m.Data) != "re: hi" {
		t.Fatalf("reply %q", m.Data)
	}
}

// TestTLSAndUserPassword runs a nats-server that requires TLS with a client
// certificate from its CA, and a user and password: the options built from
// the FNGATE_NATS_* variables connect and carry a request-reply; without
// each piece the connection is refused with an error that says why.
func TestTLSAndUserPassword(t *testing.T) {
	ns, p := testenv.NATSSecure(t, "fngate", "s3cret")
	url := ns.ClientURL()

	// The variables, as the gateway and worker commands bind them.
	t.Setenv("FNGATE_NATS_USER", "fngate")
	t.Setenv("FNGATE_NATS_PASSWORD", "s3cret")
	t.Setenv("FNGATE_NATS_TLS_CA", p.CA)
	t.Setenv("FNGATE_NATS_TLS_CERT", p.ClientCert)
	t.Setenv("FNGATE_NATS_TLS_KEY", p.ClientKey)
	var sec natsconn.Security
	fs := envflag.New("test")
	sec.Bind(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	want := natsconn.Security{User: "fngate", Password: "s3cret", TLSCA: p.CA, TLSCert: p.ClientCert, TLSKey: p.ClientKey}
	if sec != want {
		t.Fatalf("bound %+v, want %+v", sec, want)
	}

	a, err := connect(t, url, sec)
	if err != nil {
		t.Fatalf("connect with TLS, client certificate and password: %v", err)
	}
	b, err := connect(t, url, sec)
	if err != nil {
		t.Fatal(err)
	}
	if !a.TLSRequired() {
		t.Fatal("connection is not TLS")
	}
	roundTrip(t, a, b)

	// The user in the URL still works in place of FNGATE_NATS_USER.
	noUser := sec
	noUser.User, noUser.Password = "", ""
	withUser := "nats://fngate:s3cret@" + ns.Addr().String()
	c, err := connect(t, withUser, noUser)
	if err != nil {
		t.Fatalf("user in the URL %s: %v", withUser, err)
	}
	roundTrip(t, a, c)

	for _, tc := range []struct {
		name string
		sec  func(s *natsconn.Security)
		want []string // one of
	}{
		{"no TLS settings", func(s *natsconn.Security) { *s = natsconn.Security{User: "fngate", Password: "s3cret"} }, []string{"certificate signed by unknown authority"}},
		// With TLS 1.3 the server refuses the missing certificate after the
		// client has finished its side of the handshake: the client reads
		// the alert, or finds the connection closed when it writes.
		{"no client certificate", func(s *natsconn.Security) { s.TLSCert, s.TLSKey = "", "" }, []string{"certificate required", "tls error: connection closed by remote after tls handshake"}},
		{"wrong password", func(s *natsconn.Security) { s.Password = "nope" }, []string{"authorization violation"}},
		{"no user", func(s *natsconn.Security) { s.User, s.Password = "", "" }, []string{"authorization violation"}},
	} {
		s := sec
		tc.sec(&s)
		_, err := connect(t, url, s)
		t.Logf("%s: %v", tc.name, err)
		if err == nil || !slices.ContainsFunc(tc.want, func(w string) bool { return strings.Contains(strings.ToLower(err.Error()), w) }) {
			t.Errorf("%s: connect = %v, want an error containing one of %q", tc.name, err, tc.want)
		}
	}
}

// TestCredsFile runs a nats-server in operator mode: a client with the
// user's .creds file connects and carries a request-reply; without it, it
// is refused.
func TestCredsFile(t *testing.T) {
	o := newOperator(t)
	_, creds := o.user()
	path := filepath.Join(t.TempDir(), "worker.creds")
	must(t, os.WriteFile(path, creds, 0o600))
	ns := o.server()

	t.Setenv("FNGATE_NATS_CREDS", path)
	var sec natsconn.Security
	fs := envflag.New("test")
	sec.Bind(fs)
	must(t, fs.Parse(nil))
	a, err := connect(t, ns.ClientURL(), sec)
	if err != nil {
		t.Fatalf("connect with %s: %v", path, err)
	}
	b, err := connect(t, ns.ClientURL(), sec)
	must(t, err)
	roundTrip(t, a, b)
	if _, err := connect(t, ns.ClientURL(), natsconn.Security{}); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		t.Fatalf("connect without credentials = %v, want an authorization violation", err)
	}
}

// TestOptionsRefuseBadSettings: settings that cannot work are errors before
// any connection is tried, naming the variable.
func TestOptionsRefuseBadSettings(t *testing.T) {
	t.Parallel()
	p := testenv.NewPKI(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		sec  natsconn.Security
		want string
	}{
		{natsconn.Security{TLSCert: p.ClientCert}, "FNGATE_NATS_TLS_CERT is set without FNGATE_NATS_TLS_KEY"},
		{natsconn.Security{TLSKey: p.ClientKey}, "FNGATE_NATS_TLS_KEY is set without FNGATE_NATS_TLS_CERT"},
		{natsconn.Security{Password: "x"}, "FNGATE_NATS_PASSWORD is set without FNGATE_NATS_USER"},
		{natsconn.Security{Creds: garbage, User: "u"}, "exclusive"},
		{natsconn.Security{TLSCA: missing}, "FNGATE_NATS_TLS_CA: nats: error loading or parsing rootCA file: open " + missing + ": no such file or directory"},
		{natsconn.Security{TLSCA: garbage}, "FNGATE_NATS_TLS_CA: nats: failed to parse root certificate"},
		{natsconn.Security{TLSCert: missing, TLSKey: p.ClientKey}, "FNGATE_NATS_TLS_CERT, FNGATE_NATS_TLS_KEY: nats: error loading client certificate: open " + missing},
		{natsconn.Security{TLSCert: p.ClientCert, TLSKey: p.ServerKey}, "private key does not match public key"},
		{natsconn.Security{Creds: missing}, "FNGATE_NATS_CREDS: open " + missing},
		{natsconn.Security{Creds: garbage}, "FNGATE_NATS_CREDS: " + garbage + ": no user seed"},
	} {
		_, err := natsconn.Options("x", tc.sec, quiet)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want it to contain %q", tc.sec, err, tc.want)
		}
	}
	if opts, err := natsconn.Options("x", natsconn.Security{}, quiet); err != nil || len(opts) == 0 {
		t.Fatalf("zero Security: %d options, %v", len(opts), err)
	}
}
