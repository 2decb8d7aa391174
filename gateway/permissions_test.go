package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// TestShippedNATSPermissions runs fngate through deployments/nats/nats.conf
// as shipped: the gateway and worker users can do their work, sync, async
// and dead letters, and a worker cannot invoke functions or read the queue.
func TestShippedNATSPermissions(t *testing.T) {
	const gwPassword, wkPassword = "gw-secret", "wk-secret" // nats.conf reads them from the environment
	t.Setenv("FNGATE_NATS_GATEWAY_PASSWORD", gwPassword)
	t.Setenv("FNGATE_NATS_WORKER_PASSWORD", wkPassword)
	opts, err := server.ProcessConfigFile("../deployments/nats/nats.conf")
	if err != nil {
		t.Fatal(err)
	}
	opts.StoreDir = t.TempDir()
	ns := testenv.StartServer(t, opts)

	s := gt.NewWithNATS(t, ns,
		r("*", "/echo", "echo"),
		route.Route{Domain: "*", Path: "/job", Function: "echo", Mode: "async"},
		route.Route{Domain: "*", Path: "/doomed", Function: "fail", Mode: "async", Retry: &route.Retry{MaxAttempts: 1}},
		route.Route{Domain: "*", Path: "/later", Function: "later", Mode: "async"}, // no worker serves it
	)
	s.GatewayNATS = []nats.Option{nats.UserInfo("gateway", gwPassword)}
	s.WorkerNATS = []nats.Option{nats.UserInfo("worker", wkPassword)}
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())

	if resp := gt.Get(t, gw.URL+"/echo"); resp.Status != 200 {
		t.Fatalf("sync call = %d %s", resp.Status, resp.Body)
	}
	waitStatus(t, gw, acceptOK(t, gw.URL+"/job", nil, "x"), record.StatusSucceeded, 15*time.Second)
	// Gateways may ask one another for their counts (the console's live
	// view): a request as the gateway user gets the gateway's answer.
	gnc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("gateway", gwPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer gnc.Close()
	m, err := gnc.Request(subject.GatewayStats, nil, 5*time.Second)
	var answer gateway.GatewayStats
	if err != nil || json.Unmarshal(m.Data, &answer) != nil || answer.Gateway != gw.ID() {
		t.Fatalf("stats request as the gateway user: %v, answer %+v", err, answer)
	}
	waitStatus(t, gw, acceptOK(t, gw.URL+"/doomed", nil, "x"), record.StatusDead, 15*time.Second)
	// The gateway user may delete a cancelled invocation's message.
	later := acceptOK(t, gw.URL+"/later", nil, "x")
	cancelCall(t, gw, later, 200, record.StatusCancelled)
	js, err := jetstream.New(gnc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), subject.StreamInvocations)
	if err != nil {
		t.Fatal(err)
	}
	filter, _ := subject.AsyncByID(later)
	if _, err := st.GetLastMsgForSubject(context.Background(), filter); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("cancelled invocation's message: %v, want deleted", err)
	}

	// The worker user may not invoke functions nor read the queue directly.
	violations := make(chan error, 4)
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("worker", wkPassword),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, try := range []func() error{
		func() error { return nc.Publish("fngate.invoke.echo", nil) },
		func() error { _, err := nc.SubscribeSync("fngate.async.>"); return err },
	} {
		if err := try(); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		select {
		case err := <-violations:
			if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Fatalf("got %v, want a permissions violation", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no permissions violation")
		}
	}
	// A wrong password is refused.
	if _, err := nats.Connect(ns.ClientURL(), nats.UserInfo("gateway", "nope")); err == nil {
		t.Fatal("wrong password accepted")
	}
}
