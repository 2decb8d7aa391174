package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHelpHidesSecrets runs the command's parse with -h in a child process
// (usage goes to its stderr) with secrets in its environment: the output
// shows none of them.
func TestHelpHidesSecrets(t *testing.T) {
	if os.Getenv("FNGATE_TEST_HELP_CHILD") == "1" {
		_, _ = parse([]string{"-h"})
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelpHidesSecrets$")
	cmd.Env = append(os.Environ(), "FNGATE_TEST_HELP_CHILD=1",
		"FNGATE_NATS_PASSWORD=nats-hunter2",
		"FNGATE_NATS_URL=nats://worker:url-hunter2@nats-1:4222,nats://tok-hunter2@nats-2:4222",
		"FNGATE_REDIS_URL=redis://:redis-hunter2@redis:6379/0",
		"FNGATE_REDIS_SENTINEL_PASSWORD=sentinel-hunter2",
	)
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "-redis-sentinel-password") {
		t.Fatalf("no usage output:\n%s", out)
	}
	if strings.Contains(string(out), "hunter2") {
		t.Fatalf("-h shows a secret:\n%s", out)
	}
	for _, want := range []string{"nats://worker:xxxxx@nats-1:4222,nats://xxxxx@nats-2:4222", "redis://:xxxxx@redis:6379/0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("-h lacks %s:\n%s", want, out)
		}
	}
}
