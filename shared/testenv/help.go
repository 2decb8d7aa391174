package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// commonSecrets are settings every command takes (NATS and Redis, bound by
// natsconn.Security and store.ClientConfig), and masked their URLs as -h
// must show them.
var (
	commonSecrets = []string{
		"FNGATE_NATS_PASSWORD=nats-hunter2",
		"FNGATE_NATS_URL=nats://app:url-hunter2@nats-1:4222,nats://tok-hunter2@nats-2:4222",
		"FNGATE_REDIS_URL=redis://:redis-hunter2@redis:6379/0",
		"FNGATE_REDIS_SENTINEL_PASSWORD=sentinel-hunter2",
	}
	masked = []string{"nats://app:xxxxx@nats-1:4222,nats://xxxxx@nats-2:4222", "redis://:xxxxx@redis:6379/0"}
)

// HelpHidesSecrets is the body of a command's TestHelpHidesSecrets: it
// re-runs the calling test in a child process with secrets (each holding
// "hunter2") in its environment, the NATS and Redis ones every command
// takes and the command's own (env), where help prints the usage (-h goes
// to stderr), and checks that the output shows usageFlag, no secret, and
// the NATS and Redis URLs with their passwords replaced. In the child it
// only calls help.
func HelpHidesSecrets(t *testing.T, help func(), usageFlag string, env ...string) {
	t.Helper()
	if os.Getenv("FNGATE_TEST_HELP_CHILD") == "1" {
		help()
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(append(append(os.Environ(), "FNGATE_TEST_HELP_CHILD=1"), commonSecrets...), env...)
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), usageFlag) {
		t.Fatalf("no usage output:\n%s", out)
	}
	if strings.Contains(string(out), "hunter2") {
		t.Fatalf("-h shows a secret:\n%s", out)
	}
	for _, want := range masked {
		if !strings.Contains(string(out), want) {
			t.Errorf("-h lacks %s:\n%s", want, out)
		}
	}
}
