package main

import (
	"testing"

	"github.com/fngate/fngate/shared/testenv"
)

// TestVersion: "worker version" prints the -X version and the commit.
func TestVersion(t *testing.T) {
	testenv.VersionCommand(t, "github.com/fngate/fngate/worker/cmd/worker")
}
