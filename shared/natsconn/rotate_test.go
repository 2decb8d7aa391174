package natsconn_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/natsconn"
	"github.com/fngate/fngate/shared/testenv"
)

// replace writes b to path the way a secret rotation does: a new file
// renamed over the old one.
func replace(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	replace(t, to, b)
}

// TestCredsFileReadOnReconnect: the .creds file is read again on each
// reconnect. A connection made as one user, whose file is then rotated to
// another user's credentials, comes back after the server drops it as the
// new user.
func TestCredsFileReadOnReconnect(t *testing.T) {
	o := newOperator(t)
	u1, creds1 := o.user()
	u2, creds2 := o.user()
	path := filepath.Join(t.TempDir(), "worker.creds")
	replace(t, path, creds1)
	ns := o.server()

	nc, err := connect(t, ns.ClientURL(), natsconn.Security{Creds: path})
	must(t, err)
	if got := authorizedUser(t, ns); got != u1 {
		t.Fatalf("connected as %q, want the first user %q", got, u1)
	}
	replace(t, path, creds2)
	cid, err := nc.GetClientID()
	must(t, err)
	must(t, ns.DisconnectClientByID(cid))
	testenv.Eventually(t, 10*time.Second, "reconnected as the rotated file's user", func() bool {
		return nc.IsConnected() && authorizedUser(t, ns) == u2
	})
}

// authorizedUser is the user of the server's one "fngate-test" client ("" if
// there is none).
func authorizedUser(t *testing.T, ns *server.Server) string {
	t.Helper()
	cz, err := ns.Connz(&server.ConnzOptions{Username: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cz.Conns {
		if c.Name == "fngate-test" {
			return c.AuthorizedUser
		}
	}
	return ""
}

// TestTLSFilesReadOnReconnect: the CA, client certificate and key files are
// read again on each reconnect. The server is replaced, on the same port,
// by one with a new CA (server and client certificates rotated): a client
// whose three files were rotated meanwhile reconnects to it; one that kept
// the files it read at start could not (unknown authority).
func TestTLSFilesReadOnReconnect(t *testing.T) {
	p1, p2 := testenv.NewPKI(t), testenv.NewPKI(t)
	dir := t.TempDir()
	sec := natsconn.Security{TLSCA: filepath.Join(dir, "ca.pem"), TLSCert: filepath.Join(dir, "client.pem"), TLSKey: filepath.Join(dir, "client-key.pem")}
	install := func(p testenv.PKI) {
		copyFile(t, p.CA, sec.TLSCA)
		copyFile(t, p.ClientCert, sec.TLSCert)
		copyFile(t, p.ClientKey, sec.TLSKey)
	}
	port := testenv.FreePort(t)
	start := func(p testenv.PKI) *server.Server {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: p.ServerCert, KeyFile: p.ServerKey, CaFile: p.CA, Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		return testenv.StartServerOn(t, port, &server.Options{TLS: true, TLSConfig: tc, TLSVerify: true, TLSTimeout: 5})
	}
	install(p1)
	ns := start(p1)
	nc, err := connect(t, "tls://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), sec)
	if err != nil {
		t.Fatalf("connect with the first PKI: %v", err)
	}
	reconnected := make(chan struct{}, 1)
	nc.SetReconnectHandler(func(*nats.Conn) {
		select {
		case reconnected <- struct{}{}:
		default:
		}
	})
	install(p2)
	ns.Shutdown()
	ns.WaitForShutdown()
	start(p2)
	testenv.Recv(t, reconnected, 20*time.Second, "reconnected to the server of the rotated CA with the rotated client certificate")
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush after the reconnect: %v", err)
	}
}
