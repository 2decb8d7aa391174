package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// VersionCommand builds the command pkg (an import path) as a release
// would, with the version and commit set by the -ldflags the README
// documents, runs "<command> version" and checks that it prints them.
// (The VCS stamp, used without -X, is checked by package buildinfo's
// tests: go build leaves it out in a git worktree and under
// -buildvcs=false, which this machine's GOFLAGS sets.)
func VersionCommand(t *testing.T, pkg string) {
	t.Helper()
	t.Parallel()
	const version, commit = "v9.8.7-test", "0123456789abcdef0123456789abcdef01234567"
	bin := t.TempDir() + "/cmd"
	const x = "-X github.com/fngate/fngate/shared/buildinfo."
	build := exec.Command("go", "build", "-o", bin, "-ldflags", x+"version="+version+" "+x+"commit="+commit, pkg)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", pkg, err, out)
	}
	if want := "fngate " + version + " commit " + commit + " go1."; !strings.HasPrefix(string(out), want) {
		t.Errorf("%s version printed %q, want it to start with %q", pkg, out, want)
	}
}
