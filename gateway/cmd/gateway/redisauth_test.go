package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/natsconn"
	"github.com/fngate/fngate/shared/testenv"
)

// TestGatewayThroughSentinelsWithPasswords runs the gateway command with
// its Redis settings (FNGATE_REDIS_ADDRS, _MASTER, _URL with the servers'
// password, _SENTINEL_PASSWORD), as their flags, against sentinels that
// require a password of their own: the routes file is applied through
// them and a call is answered.
func TestGatewayThroughSentinelsWithPasswords(t *testing.T) {
	t.Parallel()
	sg := testenv.RedisSentinelWith(t, testenv.SentinelOptions{Password: "data-secret", SentinelPassword: "sentinel-secret"})
	ns := testenv.NATS(t)
	routes := routesFile(t, "routes:\n  - {domain: \"*\", path: /echo, function: echo}\n")
	httpPort := testenv.FreePort(t)
	o, err := parse([]string{
		"-http-addr", "127.0.0.1:" + itoa(httpPort), "-admin-addr", "127.0.0.1:0",
		"-nats-url", "nats://" + ns.Addr().String(), "-routes", routes,
		"-redis-url", "redis://:data-secret@127.0.0.1:1/0", "-redis-addrs", strings.Join(sg.Addrs(), ","),
		"-redis-master", sg.MasterName, "-redis-sentinel-password", "sentinel-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	o.gw.Logger = slogDiscard()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	echoWorker(ctx, t, "nats://"+ns.Addr().String(), natsconn.Security{})
	runUntilCalled(ctx, t, o, "a call through the gateway, routes from Redis behind sentinels", "http://127.0.0.1:"+itoa(httpPort)+"/echo?via=sentinel", `"via":"sentinel"`)
	// The route went to the master the sentinels name.
	if n, err := sg.Master.Client().HLen(ctx, "{fngate}:routes").Result(); err != nil || n != 1 {
		t.Fatalf("master holds %d routes, %v", n, err)
	}
}
