package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
)

// TestFunctionsCLI: "functions deploy" uploads a folder as the next
// version, "functions versions" lists them with the current one starred,
// "functions rollback" makes an earlier one current.
func TestFunctionsCLI(t *testing.T) {
	s := gt.New(t)
	s.Code = true
	gw := s.Gateway(gateway.Config{})
	t.Setenv("FNGATE_ADMIN_URL", gw.AdminURL)
	dir := t.TempDir()
	write := func(body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string]string{"index.js": "exports.main = async () => require('./lib/v');\n", "lib/v.js": body} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(args ...string) string {
		t.Helper()
		var out strings.Builder
		if err := functionsCLI(args, &out); err != nil {
			t.Fatalf("functions %v: %v", args, err)
		}
		return out.String()
	}
	write("module.exports = { v: 1 };\n")
	if out := run("deploy", "hello", dir); !strings.HasPrefix(out, "hello version 1 deployed (") || !strings.Contains(out, "3 files") {
		t.Fatalf("deploy: %q", out)
	}
	write("module.exports = { v: 2 };\n")
	if out := run("deploy", "hello", dir); !strings.HasPrefix(out, "hello version 2 deployed") {
		t.Fatalf("deploy: %q", out)
	}
	if out := run("rollback", "hello", "1"); out != "hello version 1 is current; the workers switch to it\n" {
		t.Fatalf("rollback: %q", out)
	}
	out := run("versions", "hello")
	if !strings.Contains(out, "\n*1 ") || !strings.Contains(out, "\n 2 ") {
		t.Fatalf("versions:\n%s", out)
	}
	var errOut strings.Builder
	if err := functionsCLI([]string{"rollback", "hello", "7"}, &errOut); err == nil || !strings.Contains(err.Error(), "404 VERSION_NOT_FOUND") {
		t.Fatalf("rollback to a missing version: %v", err)
	}
	if err := functionsCLI([]string{"deploy", "hello", filepath.Join(dir, "lib")}, &errOut); err == nil || !strings.Contains(err.Error(), "400 INVALID_ARCHIVE") {
		t.Fatalf("deploy of a folder without index.js: %v", err)
	}
}
