package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// root is the repository root, from this package's directory.
const root = "../../.."

// TestDeploymentsMatchCode parses compose.yaml, the Kubernetes manifests
// and the Dockerfile, and checks that every FNGATE_* variable they set is
// one the code reads, that the ports they expose are the defaults the code
// listens on, and that the images they name are built by the Dockerfile.
func TestDeploymentsMatchCode(t *testing.T) {
	t.Parallel()
	known := codeEnvVars(t)
	for _, want := range []string{"FNGATE_NATS_URL", "FNGATE_REDIS_URL", "FNGATE_FUNCTIONS_DIR", "FNGATE_METRICS_ADDR"} {
		if !known[want] {
			t.Fatalf("scan of the code missed %s; the test is broken", want)
		}
	}
	files := []string{"compose.yaml", "deployments/k8s/gateway.yaml", "deployments/k8s/worker.yaml", "deployments/k8s/nats-values.yaml", "deployments/docker/Dockerfile"}
	envRef := regexp.MustCompile(`FNGATE_[A-Z_]+`)
	// The NATS servers read the users' passwords from FNGATE_* variables.
	natsConf, err := os.ReadFile(filepath.Join(root, "deployments/nats/nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$(FNGATE_[A-Z_]+)`).FindAllStringSubmatch(string(natsConf), -1) {
		known[m[1]] = true
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".yaml") {
			dec := yaml.NewDecoder(strings.NewReader(string(data)))
			for {
				var doc map[string]any
				if err := dec.Decode(&doc); err != nil {
					if err.Error() != "EOF" {
						t.Fatalf("%s does not parse: %v", f, err)
					}
					break
				}
			}
		}
		for _, v := range envRef.FindAllString(string(data), -1) {
			// Compose interpolation of the operator's own variable.
			if v == "FNGATE_ADMIN_TOKEN" || known[v] {
				continue
			}
			t.Errorf("%s sets %s, which no code reads", f, v)
		}
	}

	// Ports: the gateway listens on 8080/8081, the worker's metrics on 9091.
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Ports       []string          `yaml:"ports"`
			Environment map[string]string `yaml:"environment"`
			Build       struct {
				Target string `yaml:"target"`
			} `yaml:"build"`
		} `yaml:"services"`
	}
	data, _ := os.ReadFile(filepath.Join(root, "compose.yaml"))
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	dockerfile, _ := os.ReadFile(filepath.Join(root, "deployments/docker/Dockerfile"))
	for name, svc := range compose.Services {
		if svc.Build.Target != "" && !strings.Contains(string(dockerfile), " AS "+svc.Build.Target) {
			t.Errorf("compose service %s builds target %q, which the Dockerfile lacks", name, svc.Build.Target)
		}
	}
	gw := compose.Services["gateway"]
	if len(gw.Ports) == 0 || !strings.HasSuffix(gw.Ports[0], ":8080") || !strings.HasSuffix(gw.Ports[1], ":8081") || gw.Environment["FNGATE_ADMIN_ADDR"] != ":8081" {
		t.Errorf("compose gateway ports %v do not map the gateway's 8080 and 8081", gw.Ports)
	}
	if compose.Services["worker"].Environment["FNGATE_METRICS_ADDR"] != ":9091" {
		t.Error("compose worker does not serve metrics on :9091")
	}
	for _, name := range []string{"nats-1", "nats-2", "nats-3", "redis", "gateway", "worker"} {
		if _, ok := compose.Services[name]; !ok {
			t.Errorf("compose lacks service %s (three NATS nodes, Redis, gateway, worker)", name)
		}
	}

	// Kubernetes: container ports and images.
	for f, want := range map[string][]string{
		"deployments/k8s/gateway.yaml": {"containerPort: 8080", "containerPort: 8081", "image: fngate/gateway", "path: /readyz", "kind: HorizontalPodAutoscaler"},
		"deployments/k8s/worker.yaml":  {"containerPort: 9091", "image: fngate/worker", "stream: FNGATE_INVOCATIONS", "consumer: fngate-echo", "type: nats-jetstream"},
	} {
		data, _ := os.ReadFile(filepath.Join(root, f))
		for _, w := range want {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s lacks %q", f, w)
			}
		}
	}
}

// codeEnvVars collects the FNGATE_* names the Go code mentions.
func codeEnvVars(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	re := regexp.MustCompile(`"(FNGATE_[A-Z_]+)"`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(data), -1) {
				known[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return known
}
