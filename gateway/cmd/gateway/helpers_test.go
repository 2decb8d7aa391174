package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fngate/fngate/shared/testenv"
)

// buildBinaries builds the commands pkgs into a temporary directory, which
// it returns: the tests that run the real processes.
func buildBinaries(t *testing.T, pkgs ...string) (bin string) {
	t.Helper()
	bin = t.TempDir()
	if out, err := exec.Command("go", append([]string{"build", "-o", bin + "/"}, pkgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// binaryStack is what the tests that run the real gateway and worker
// share: the binaries, a Redis, free loopback ports and a routes file.
type binaryStack struct {
	bin   string
	redis *testenv.Redis
	// gateway is the gateway's environment (embedded NATS, routes file,
	// Redis), base its public URL, nats the embedded server's URL.
	gateway    []string
	base, nats string
}

// newBinaryStack builds the binaries and prepares a gateway serving
// routesYAML (a routes file's text).
func newBinaryStack(t *testing.T, routesYAML string) *binaryStack {
	t.Helper()
	b := &binaryStack{bin: buildBinaries(t, "github.com/fngate/fngate/gateway/cmd/gateway", "github.com/fngate/fngate/worker/cmd/worker")}
	b.redis = testenv.StartRedis(t)
	httpPort, adminPort, natsPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(routes, []byte(routesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	b.gateway = []string{
		"FNGATE_HTTP_ADDR=127.0.0.1:" + itoa(httpPort),
		"FNGATE_ADMIN_ADDR=127.0.0.1:" + itoa(adminPort),
		"FNGATE_NATS_LISTEN=127.0.0.1:" + itoa(natsPort),
		"FNGATE_NATS_STORE_DIR=" + t.TempDir(),
		"FNGATE_REDIS_URL=" + b.redis.URL(),
		"FNGATE_ROUTES=" + routes,
	}
	b.base, b.nats = "http://127.0.0.1:"+itoa(httpPort), "nats://127.0.0.1:"+itoa(natsPort)
	return b
}
