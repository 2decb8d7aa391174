package main

import (
	"testing"

	"github.com/fngate/fngate/shared/testenv"
)

// TestHelpHidesSecrets runs the command's parse with -h in a child process
// (usage goes to its stderr) with secrets in its environment: the output
// shows none of them.
func TestHelpHidesSecrets(t *testing.T) {
	testenv.HelpHidesSecrets(t, func() { _, _ = parse([]string{"-h"}) }, "-admin-token", "FNGATE_ADMIN_TOKEN=admin-hunter2-0123456789")
}
