package main

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/codestore/codetest"
	"github.com/fngate/fngate/shared/natsconn"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
	"github.com/fngate/fngate/worker/sdk"
)

// TestGatewayOverSecureNATS runs the gateway command against a NATS server
// that requires TLS with a client certificate and a password, configured
// by its flags (the FNGATE_NATS_* variables' equals): a call goes through
// to a worker connected the same way. A wrong password stops the gateway at
// start, saying why.
func TestGatewayOverSecureNATS(t *testing.T) {
	t.Parallel()
	ns, pki := testenv.NATSSecure(t, "fngate", "s3cret")
	rd := testenv.StartRedis(t)
	routes := routesFile(t, "routes:\n  - {domain: \"*\", path: /echo, function: echo}\n")
	natsURL := "nats://" + ns.Addr().String()
	httpPort := testenv.FreePort(t)
	args := func(password string) []string {
		return []string{
			"-http-addr", "127.0.0.1:" + itoa(httpPort), "-admin-addr", "127.0.0.1:0",
			"-nats-url", natsURL, "-redis-url", rd.URL(), "-routes", routes,
			"-nats-user", "fngate", "-nats-password", password,
			"-nats-tls-ca", pki.CA, "-nats-tls-cert", pki.ClientCert, "-nats-tls-key", pki.ClientKey,
		}
	}

	o, err := parse(args("wrong"))
	if err != nil {
		t.Fatal(err)
	}
	o.gw.Logger = slogDiscard()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := run(ctx, o); err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("run with a wrong password = %v, want an authorization violation", err)
	}

	// The worker side: the same options, built by natsconn.
	echoWorker(ctx, t, natsURL, natsconn.Security{User: "fngate", Password: "s3cret", TLSCA: pki.CA, TLSCert: pki.ClientCert, TLSKey: pki.ClientKey})

	if o, err = parse(args("s3cret")); err != nil {
		t.Fatal(err)
	}
	o.gw.Logger = slogDiscard()
	runUntilCalled(ctx, t, o, "a call through the gateway on TLS NATS", "http://127.0.0.1:"+itoa(httpPort)+"/echo?via=tls", `"via":"tls"`)
}

// TestGatewayRefusesBadNATSSecurity: settings that cannot work stop the
// gateway before it serves.
func TestGatewayRefusesBadNATSSecurity(t *testing.T) {
	t.Parallel()
	pki := testenv.NewPKI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nats-url", "nats://127.0.0.1:1", "-nats-tls-cert", pki.ClientCert}, "FNGATE_NATS_TLS_CERT is set without FNGATE_NATS_TLS_KEY"},
		{[]string{"-nats-url", "nats://127.0.0.1:1", "-nats-tls-ca", pki.CA + ".missing"}, "FNGATE_NATS_TLS_CA: nats: error loading or parsing rootCA file: open " + pki.CA + ".missing: no such file or directory"},
		{[]string{"-nats-user", "u", "-nats-password", "p"}, "need FNGATE_NATS_URL"},
	} {
		o, err := parse(append(tc.args, "-http-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-nats-listen", "127.0.0.1:-1", "-nats-store-dir", t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		o.gw.Logger = slogDiscard()
		if err := run(context.Background(), o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: run = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestShippedNATSTLSConf runs the gateway command and a worker through
// deployments/nats/nats-tls.conf as shipped (per-role users, TLS with
// client certificates), configured the way the binaries are: a call goes
// through, and a client with the right password but no certificate is
// refused.
func TestShippedNATSTLSConf(t *testing.T) {
	pki := testenv.NewPKI(t)
	t.Setenv("FNGATE_NATS_SERVER_CERT", pki.ServerCert)
	t.Setenv("FNGATE_NATS_SERVER_KEY", pki.ServerKey)
	t.Setenv("FNGATE_NATS_CLIENT_CA", pki.CA)
	t.Setenv("FNGATE_NATS_GATEWAY_PASSWORD", "gw-secret")
	t.Setenv("FNGATE_NATS_WORKER_PASSWORD", "wk-secret")
	sopts, err := server.ProcessConfigFile(filepath.Join(root, "deployments/nats/nats-tls.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if sopts.TLSConfig == nil || sopts.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert || len(sopts.Users) != 2 {
		t.Fatalf("nats-tls.conf: TLS %v, %d users; want client certificates required and the two role users", sopts.TLSConfig != nil, len(sopts.Users))
	}
	sopts.StoreDir = t.TempDir()
	ns := testenv.StartServer(t, sopts)
	natsURL := "nats://" + ns.Addr().String()
	rd := testenv.StartRedis(t)
	routes := routesFile(t, "routes:\n  - {domain: \"*\", path: /echo, function: echo}\n  - {domain: \"*\", path: /events, function: events}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	echoWorker(ctx, t, natsURL, natsconn.Security{User: "worker", Password: "wk-secret", TLSCA: pki.CA, TLSCert: pki.ClientCert, TLSKey: pki.ClientKey})

	httpPort := testenv.FreePort(t)
	o, err := parse([]string{
		"-http-addr", "127.0.0.1:" + itoa(httpPort), "-admin-addr", "127.0.0.1:0",
		"-nats-url", natsURL, "-redis-url", rd.URL(), "-routes", routes,
		"-nats-user", "gateway", "-nats-password", "gw-secret",
		"-nats-tls-ca", pki.CA, "-nats-tls-cert", pki.ClientCert, "-nats-tls-key", pki.ClientKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	o.gw.Logger = slogDiscard()
	// A streamed response too: its subjects are in the users' permissions.
	runUntilCalled(ctx, t, o, "a call through the gateway on nats-tls.conf", "http://127.0.0.1:"+itoa(httpPort)+"/echo?via=tls-conf", `"via":"tls-conf"`,
		"http://127.0.0.1:"+itoa(httpPort)+"/events?n=3&ms=10", "data: 1\n\ndata: 2\n\ndata: 3\n\n")
	codeThroughConf(ctx, t, natsURL,
		natsconn.Security{User: "gateway", Password: "gw-secret", TLSCA: pki.CA, TLSCert: pki.ClientCert, TLSKey: pki.ClientKey},
		natsconn.Security{User: "worker", Password: "wk-secret", TLSCA: pki.CA, TLSCert: pki.ClientCert, TLSKey: pki.ClientKey})

	// The right password without a client certificate is refused.
	if nc, err := nats.Connect(natsURL, nats.UserInfo("gateway", "gw-secret"), nats.RootCAs(pki.CA), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("a client without a certificate was accepted")
	}
}

// codeThroughConf checks the code buckets' permissions: the gateway user
// deploys (the buckets exist: the gateway made them at start), the worker
// user sees the version and fetches it, and cannot deploy.
func codeThroughConf(ctx context.Context, t *testing.T, natsURL string, gwSec, wkSec natsconn.Security) {
	t.Helper()
	bind := func(sec natsconn.Security) *codestore.Store {
		js, _ := jetstream.New(connectAs(t, natsURL, sec))
		cs, err := codestore.Bind(ctx, js)
		if err != nil {
			t.Fatalf("%s binds the code store: %v", sec.User, err)
		}
		return cs
	}
	gw, wk := bind(gwSec), bind(wkSec)
	archive := codetest.TarGz(codetest.File("index.js", "exports.main = async () => 1;\n"))
	sum, err := codestore.Check(archive, codestore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.Put(ctx, "hello", archive, sum); err != nil {
		t.Fatalf("the gateway user deploys: %v", err)
	}
	updates, err := wk.Watch(ctx)
	if err != nil {
		t.Fatalf("the worker user watches: %v", err)
	}
	f := testenv.Recv(t, updates, 10*time.Second, "the worker user sees the version")
	if b, err := wk.Archive(ctx, f.Version(f.Current)); err != nil || string(b) != string(archive) {
		t.Fatalf("the worker user fetches the archive: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := wk.Put(short, "hello", archive, sum); err == nil {
		t.Fatal("the worker user deployed")
	}
}

// connectAs connects to natsURL with the options natsconn builds from sec,
// as the commands do, until the test ends.
func connectAs(t *testing.T, natsURL string, sec natsconn.Security) *nats.Conn {
	t.Helper()
	opts, err := natsconn.Options("fngate-"+sec.User, sec, slogDiscard())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// echoWorker serves the built-in echo (and events) from a worker connected to natsURL
// with the options natsconn builds from sec, as the worker command does,
// until the test ends.
func echoWorker(ctx context.Context, t *testing.T, natsURL string, sec natsconn.Security) {
	t.Helper()
	w, err := worker.New(connectAs(t, natsURL, sec), worker.Config{Logger: slogDiscard()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Handle("echo", sdk.HandlerFunc(builtin.Echo)); err != nil {
		t.Fatal(err)
	}
	if err := w.Handle("events", sdk.HandlerFunc(builtin.Events)); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Drain(context.Background()) })
}

// runUntilCalled runs the gateway command with o until a GET of url
// answers 200 with want in its body (within 20s), then checks that each
// further url of more (url, want pairs) does too, then stops it: it must
// exit cleanly.
func runUntilCalled(ctx context.Context, t *testing.T, o *options, what, url, want string, more ...string) {
	t.Helper()
	gctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(gctx, o) }()
	testenv.Eventually(t, 20*time.Second, what, func() bool {
		select {
		case err := <-done:
			t.Fatalf("gateway exited: %v", err)
		default:
		}
		code, body := get(url)
		return code == 200 && strings.Contains(body, want)
	})
	for i := 0; i+1 < len(more); i += 2 {
		if code, body := get(more[i]); code != 200 || !strings.Contains(body, more[i+1]) {
			t.Errorf("GET %s = %d %q, want %q", more[i], code, body, more[i+1])
		}
	}
	stop()
	if err := testenv.Recv(t, done, 30*time.Second, "the gateway stopped"); err != nil {
		t.Fatalf("gateway exit: %v", err)
	}
}
