package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// HelpHidesSecrets is the body of a command's TestHelpHidesSecrets: it
// re-runs the calling test in a child process with secrets (each holding
// "hunter2") in env, where help prints the usage (-h goes to stderr), and
// checks that the output shows usageFlag, no secret, and each of masked
// (the URLs with their passwords replaced). In the child it only calls help.
func HelpHidesSecrets(t *testing.T, help func(), usageFlag string, env []string, masked ...string) {
	t.Helper()
	if os.Getenv("FNGATE_TEST_HELP_CHILD") == "1" {
		help()
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(append(os.Environ(), "FNGATE_TEST_HELP_CHILD=1"), env...)
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
