package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/testenv"
)

// TestGatewayExitsOnShortToken runs the gateway command (this test binary
// re-executed into main) with an admin token shorter than 16 characters:
// it exits 1 at once, saying why, without printing the token.
func TestGatewayExitsOnShortToken(t *testing.T) {
	if os.Getenv("FNGATE_TEST_MAIN") == "1" {
		os.Args = os.Args[:1]
		main()
		return
	}
	t.Parallel()
	const short = "short-token" // 11 characters
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestGatewayExitsOnShortToken$")
	// Were the token accepted, the gateway would start on ports of its own
	// and wait for a Redis that is not there, until the timeout kills it.
	cmd.Env = append(os.Environ(), "FNGATE_TEST_MAIN=1",
		"FNGATE_ADMIN_TOKEN="+short,
		"FNGATE_HTTP_ADDR=127.0.0.1:0", "FNGATE_ADMIN_ADDR=127.0.0.1:0",
		"FNGATE_NATS_LISTEN=127.0.0.1:"+itoa(testenv.FreePort(t)), "FNGATE_NATS_STORE_DIR="+t.TempDir(),
		"FNGATE_REDIS_URL=redis://127.0.0.1:"+itoa(testenv.FreePort(t))+"/0")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("gateway with a short token: %v (timed out: %v)\n%s", err, ctx.Err() != nil, out)
	}
	if s := string(out); !strings.Contains(s, "FNGATE_ADMIN_TOKEN") || !strings.Contains(s, "16") || strings.Contains(s, short) {
		t.Fatalf("exit message does not name the setting and the minimum, or shows the token:\n%s", s)
	}
}
