package verify

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// root is the repository root, from this module's directory.
const root = "../.."

var (
	codeVarsOnce sync.Once
	codeVars     map[string]bool
	codeVarsErr  error
)

// codeEnvVars collects the FNGATE_* names fngate's Go code (tests aside)
// mentions as string literals: the variables it reads.
func codeEnvVars(t *testing.T) map[string]bool {
	t.Helper()
	codeVarsOnce.Do(func() {
		codeVars = map[string]bool{}
		re := regexp.MustCompile(`"(FNGATE_[A-Z_]+)"`)
		codeVarsErr = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "deployments") {
				return filepath.SkipDir
			}
			if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				for _, m := range re.FindAllStringSubmatch(string(data), -1) {
					codeVars[m[1]] = true
				}
			}
			return nil
		})
	})
	if codeVarsErr != nil {
		t.Fatal(codeVarsErr)
	}
	for _, want := range []string{"FNGATE_NATS_URL", "FNGATE_REDIS_URL", "FNGATE_FUNCTIONS_DIR", "FNGATE_METRICS_ADDR", "FNGATE_ADMIN_TOKEN"} {
		if !codeVars[want] {
			t.Fatalf("the scan of the code missed %s; the test is broken", want)
		}
	}
	return codeVars
}

// natsConfVars are the FNGATE_* variables deployments/nats/nats.conf reads
// (the users' passwords, on the NATS servers).
func natsConfVars(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$(FNGATE_[A-Z_]+)`).FindAllStringSubmatch(readFile(t, "deployments/nats/nats.conf"), -1) {
		out[m[1]] = true
	}
	if len(out) != 2 {
		t.Fatalf("nats.conf reads %v; want the two users' passwords", out)
	}
	return out
}

// natsUsers are the users of deployments/nats/nats.conf.
func natsUsers(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*user:\s*(\w+)`).FindAllStringSubmatch(readFile(t, "deployments/nats/nats.conf"), -1) {
		out[m[1]] = true
	}
	if !out["gateway"] || !out["worker"] {
		t.Fatalf("nats.conf users %v; want gateway and worker", out)
	}
	return out
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
