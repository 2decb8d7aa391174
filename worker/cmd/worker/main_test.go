package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/natsconn"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
)

// TestWorkerOverSecureNATS runs the worker command against a NATS server
// that requires TLS with a client certificate and a password, configured
// by the FNGATE_NATS_* variables: it serves an invocation.
func TestWorkerOverSecureNATS(t *testing.T) {
	ns, pki := testenv.NATSSecure(t, "fngate", "s3cret")
	t.Setenv("FNGATE_NATS_URL", "nats://"+ns.Addr().String())
	t.Setenv("FNGATE_NATS_USER", "fngate")
	t.Setenv("FNGATE_NATS_PASSWORD", "s3cret")
	t.Setenv("FNGATE_NATS_TLS_CA", pki.CA)
	t.Setenv("FNGATE_NATS_TLS_CERT", pki.ClientCert)
	t.Setenv("FNGATE_NATS_TLS_KEY", pki.ClientKey)
	o, err := parse([]string{"-async", "off", "-builtins", "echo", "-metrics-addr", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := natsconn.Security{User: "fngate", Password: "s3cret", TLSCA: pki.CA, TLSCert: pki.ClientCert, TLSKey: pki.ClientKey}
	if o.natsSec != want {
		t.Fatalf("parsed %+v, want %+v", o.natsSec, want)
	}
	o.w.Logger = slog.New(slog.DiscardHandler)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, o) }()

	opts, err := natsconn.Options("test", want, o.w.Logger)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	subj, _ := subject.Invoke("echo")
	ev := &event.Event{Path: "/echo", HTTPMethod: "GET", QueryStringParameters: map[string]string{"via": "tls"}}
	reply := awaitReply(t, done, 20*time.Second, "the worker answers over TLS", func() (*nats.Msg, error) {
		return nc.Request(subj, ev.AppendJSON(nil), 2*time.Second)
	})
	if status, body, err := event.ParseReply(reply, http.Header{}); err != nil || status != 200 || !strings.Contains(string(body), `"via":"tls"`) {
		t.Fatalf("reply %v %s: status %d, err %v", reply.Header, reply.Data, status, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("worker exit: %v", err)
	}
}

// TestWorkerRefusesBadNATSSecurity: a setting that cannot work stops the
// worker at once instead of retrying the connection.
func TestWorkerRefusesBadNATSSecurity(t *testing.T) {
	t.Parallel()
	pki := testenv.NewPKI(t)
	o, err := parse([]string{"-nats-url", "nats://127.0.0.1:1", "-nats-tls-cert", pki.ClientCert, "-metrics-addr", ""})
	if err != nil {
		t.Fatal(err)
	}
	o.w.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, o); err == nil || !strings.Contains(err.Error(), "FNGATE_NATS_TLS_CERT is set without FNGATE_NATS_TLS_KEY") {
		t.Fatalf("run = %v, want a refusal naming FNGATE_NATS_TLS_KEY", err)
	}
}
