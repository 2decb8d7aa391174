package main

import (
	"os/exec"
	"testing"
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
