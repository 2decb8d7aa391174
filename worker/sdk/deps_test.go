package sdk_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestFunctionAPIStaysSmall: a Go function links package sdk and, in its
// tests, sdktest; neither may pull in the runtime, the stores or the
// metrics (issue #13: the author's API apart from the runtime).
func TestFunctionAPIStaysSmall(t *testing.T) {
	t.Parallel()
	forbidden := []string{
		"github.com/fngate/fngate/worker",
		"github.com/fngate/fngate/gateway",
		"github.com/fngate/fngate/shared/store",
		"github.com/fngate/fngate/shared/queue",
		"github.com/redis/",
		"github.com/prometheus/",
		"github.com/nats-io/nats.go/jetstream",
		"github.com/nats-io/nats-server",
	}
	out, err := exec.Command("go", "list", "-deps", ".", "./sdktest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/fngate/fngate/worker/sdk") {
			continue // itself
		}
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("package sdk or sdktest depends on %s", pkg)
			}
		}
	}
}
