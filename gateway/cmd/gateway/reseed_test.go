package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/shared/testenv"
)

// The gateway binary writes FNGATE_ROUTES back when Redis loses its table
// (FLUSHALL), above the version it served, rather than its own table.
func TestRoutesFileWrittenBack(t *testing.T) {
	t.Parallel()
	bin := buildBinaries(t, "github.com/fngate/fngate/gateway/cmd/gateway")
	rd := testenv.StartRedis(t)
	routes := routesFile(t, "routes:\n  - {domain: \"*\", path: /greet, function: hello}\n  - {domain: \"*\", path: /b, function: hello}\n")
	adminPort := testenv.FreePort(t)
	start(t, bin+"/gateway",
		"FNGATE_HTTP_ADDR=127.0.0.1:"+itoa(testenv.FreePort(t)),
		"FNGATE_ADMIN_ADDR=127.0.0.1:"+itoa(adminPort),
		"FNGATE_NATS_LISTEN=127.0.0.1:"+itoa(testenv.FreePort(t)),
		"FNGATE_NATS_STORE_DIR="+t.TempDir(),
		"FNGATE_REDIS_URL="+rd.URL(),
		"FNGATE_ROUTES="+routes,
		"FNGATE_ROUTES_RESYNC=200ms",
	)
	rs := store.NewRoutes(rd.Client())
	ctx := context.Background()
	testenv.Eventually(t, 20*time.Second, "gateway ready", func() bool {
		code, _ := get("http://127.0.0.1:" + itoa(adminPort) + "/readyz")
		return code == 200
	})
	// A route beyond the file: with FNGATE_ROUTES, the file is what is
	// written back, not the table the gateway served.
	resp, err := http.Post("http://127.0.0.1:"+itoa(adminPort)+"/admin/routes", "application/json", strings.NewReader(`{"domain":"*","path":"/extra","function":"hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create /extra = %d", resp.StatusCode)
	}
	held, err := rs.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rd.Client().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the routes file written back above the version served", func() bool {
		got, v, err := rs.Snapshot(ctx)
		return err == nil && len(got) == 2 && v > held
	})
}
