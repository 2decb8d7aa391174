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

// realProcesses builds the gateway and worker commands (bin is their
// directory), starts a Redis for them and writes their routes file: GET
// /greet (the built-in hello), which the tests poll until the processes
// answer, and the route given. The tests that run both processes run in
// parallel with each other.
func realProcesses(t *testing.T, route string) (bin string, rd *testenv.Redis, routes string) {
	t.Helper()
	t.Parallel()
	bin = buildBinaries(t, "github.com/fngate/fngate/gateway/cmd/gateway", "github.com/fngate/fngate/worker/cmd/worker")
	routes = routesFile(t, "routes:\n  - {domain: \"*\", path: /greet, function: hello, methods: [GET]}\n  - "+route+"\n")
	return bin, testenv.StartRedis(t), routes
}

// startGateway starts the gateway binary in bin on free loopback ports,
// with an embedded NATS storing in a directory of its own, rd, the routes
// file and the further settings env.
func startGateway(t *testing.T, bin string, rd *testenv.Redis, routes string, env ...string) (gw *proc, httpPort, adminPort, natsPort int) {
	genv, httpPort, adminPort, natsPort := gatewayEnv(t, rd, routes)
	return start(t, bin+"/gateway", append(genv, env...)...), httpPort, adminPort, natsPort
}

// gatewayEnv is the environment of a gateway on free loopback ports with
// an embedded NATS storing in a directory of its own, rd and the routes
// file: a gateway started again with it finds its store and its ports.
func gatewayEnv(t *testing.T, rd *testenv.Redis, routes string) (env []string, httpPort, adminPort, natsPort int) {
	httpPort, adminPort, natsPort = testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	return []string{
		"FNGATE_HTTP_ADDR=127.0.0.1:" + itoa(httpPort),
		"FNGATE_ADMIN_ADDR=127.0.0.1:" + itoa(adminPort),
		"FNGATE_NATS_LISTEN=127.0.0.1:" + itoa(natsPort),
		"FNGATE_NATS_STORE_DIR=" + t.TempDir(),
		"FNGATE_REDIS_URL=" + rd.URL(),
		"FNGATE_ROUTES=" + routes,
	}, httpPort, adminPort, natsPort
}

// routesFile writes a routes file holding yaml and returns its path.
func routesFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
