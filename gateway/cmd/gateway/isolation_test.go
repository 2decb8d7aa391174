package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/conf"
	"go.yaml.in/yaml/v3"
)

// root is the repository root, from this package's directory.
const root = "../../.."

// TestDeploymentsIsolation checks what the deployments promise about
// secrets and demos: NATS has the users of nats.conf with the same
// permissions in the Helm values and compose, and the production images
// carry no example routes, functions or built-ins. (The Helm chart's pods,
// their service account tokens and secrets are checked on the rendered
// chart in deployments/verify.)
func TestDeploymentsIsolation(t *testing.T) {
	t.Parallel()
	read := func(f string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	// The NATS users: the Helm values grant what nats.conf grants.
	natsConf, err := conf.Parse(strings.ReplaceAll(read("deployments/nats/nats.conf"), "$FNGATE_", "FNGATE_"))
	if err != nil {
		t.Fatalf("nats.conf: %v", err)
	}
	var values struct {
		Config struct {
			Merge struct {
				Authorization struct {
					Users []map[string]any `yaml:"users"`
				} `yaml:"authorization"`
			} `yaml:"merge"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal([]byte(read("deployments/helm/nats-values.yaml")), &values); err != nil {
		t.Fatal(err)
	}
	perms := func(users []any) map[string]any {
		out := map[string]any{}
		for _, u := range users {
			u := u.(map[string]any)
			out[u["user"].(string)] = u["permissions"]
		}
		return out
	}
	var helmUsers []any
	for _, u := range values.Config.Merge.Authorization.Users {
		helmUsers = append(helmUsers, u)
		if p, _ := u["password"].(string); !strings.HasPrefix(p, "<< $FNGATE_NATS_") {
			t.Errorf("nats-values.yaml: user %v's password is not taken from the environment: %q", u["user"], p)
		}
	}
	want := perms(natsConf["authorization"].(map[string]any)["users"].([]any))
	if got := perms(helmUsers); len(want) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("nats-values.yaml users and permissions\n%v\ndiffer from nats.conf's\n%v", got, want)
	}

	// Compose runs NATS with nats.conf; gateway and worker log in.
	var compose struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(read("compose.yaml")), &compose); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
		if c := compose.Services[n].Command; len(c) < 2 || c[0] != "-c" || !strings.HasSuffix(c[1], ".conf") {
			t.Errorf("compose %s does not run with nats.conf: %v", n, c)
		}
	}
	for _, n := range []string{"gateway", "worker"} {
		env := compose.Services[n].Environment
		if env["FNGATE_NATS_USER"] != n || !strings.Contains(env["FNGATE_NATS_PASSWORD"], "${FNGATE_NATS_"+strings.ToUpper(n)+"_PASSWORD") {
			t.Errorf("compose %s does not log in to NATS as %s: %v", n, n, env)
		}
	}

	// Images: no demo routes, functions or built-ins.
	dockerfile := read("deployments/docker/Dockerfile")
	for _, bad := range []string{"routes.yaml", "FNGATE_ROUTES", "deployments/functions", "FNGATE_BUILTINS"} {
		if strings.Contains(dockerfile, bad) {
			t.Errorf("the Dockerfile ships %s", bad)
		}
	}
}
