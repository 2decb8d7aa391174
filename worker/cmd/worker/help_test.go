package main

import (
	"testing"

	"github.com/fngate/fngate/shared/testenv"
)

// TestHelpHidesSecrets runs the command's parse with -h in a child process
// (usage goes to its stderr) with secrets in its environment: the output
// shows none of them.
func TestHelpHidesSecrets(t *testing.T) {
	testenv.HelpHidesSecrets(t, func() { _, _ = parse([]string{"-h"}) }, "-redis-sentinel-password")
}
