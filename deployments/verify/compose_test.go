package verify

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeEnv is what the operator sets before docker compose up.
var composeEnv = map[string]string{
	"FNGATE_ADMIN_TOKEN":           "0123456789abcdef0123",
	"FNGATE_NATS_GATEWAY_PASSWORD": "gateway-secret",
	"FNGATE_NATS_WORKER_PASSWORD":  "worker-secret",
}

func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "compose.yaml")},
		cli.WithWorkingDirectory(root), cli.WithName("fngate"), cli.WithEnv(list))
	if err != nil {
		t.Fatal(err)
	}
	// LoadProject validates the file against the compose specification's
	// schema, interpolates and checks references (depends_on, volumes).
	return opts.LoadProject(context.Background())
}

// TestCompose loads compose.yaml as docker compose would and checks its
// topology: three clustered NATS nodes running nats.conf at the minor
// version embedded in the gateway, Redis, gateways and workers with the
// variables the code reads, every service with a healthcheck, and gateways
// and workers started only once their backends are healthy.
func TestCompose(t *testing.T) {
	t.Parallel()
	p, err := loadCompose(t, composeEnv)
	if err != nil {
		t.Fatalf("compose.yaml does not load: %v", err)
	}
	natsNodes := []string{"nats-1", "nats-2", "nats-3"}
	if got, want := p.ServiceNames(), append(slices.Clone(natsNodes), "redis", "gateway", "worker"); !sameSet(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}

	// NATS: the embedded server's minor version, a full mesh of routes.
	m := regexp.MustCompile(`github.com/nats-io/nats-server/v2 v(\d+\.\d+)\.`).FindStringSubmatch(readFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod names no nats-server version")
	}
	wantImage := "nats:" + m[1] + "-alpine"
	for _, n := range natsNodes {
		s := p.Services[n]
		if s.Image != wantImage {
			t.Errorf("%s runs %s; the gateway embeds nats-server %s: want %s", n, s.Image, m[1], wantImage)
		}
		flags := commandFlags(s.Command)
		var others []string
		for _, o := range natsNodes {
			if o != n {
				others = append(others, "nats://"+o+":6222")
			}
		}
		if flags["-c"] != "/etc/nats/fngate.conf" || flags["--server_name"] != n || flags["--cluster_name"] != "fngate" ||
			flags["--cluster"] != "nats://0.0.0.0:6222" || !sameSet(strings.Split(flags["--routes"], ","), others) || flags["-m"] != "8222" {
			t.Errorf("%s: command %v: want nats.conf, its own server name, cluster fngate on 6222 with routes to %v, monitoring on 8222", n, s.Command, others)
		}
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Target == "/etc/nats/fngate.conf" && strings.HasSuffix(v.Source, filepath.FromSlash("deployments/nats/nats.conf")) && v.ReadOnly
		}) {
			t.Errorf("%s does not mount deployments/nats/nats.conf read-only at /etc/nats/fngate.conf", n)
		}
		for v := range natsConfVars(t) {
			if s.Environment[v] == nil || *s.Environment[v] != composeEnv[v] {
				t.Errorf("%s: %s is not the operator's", n, v)
			}
		}
	}
	if !strings.HasPrefix(p.Services["redis"].Image, "redis:") {
		t.Errorf("redis runs %s", p.Services["redis"].Image)
	}

	// Every service reports its health; gateways and workers wait for
	// healthy backends.
	for name, s := range p.Services {
		if h := s.HealthCheck; h == nil || h.Disable || len(h.Test) < 2 || h.Test[0] != "CMD" {
			t.Errorf("%s: no healthcheck: %+v", name, s.HealthCheck)
		}
	}
	for _, name := range []string{"gateway", "worker"} {
		deps := p.Services[name].DependsOn
		for _, b := range append(slices.Clone(natsNodes), "redis") {
			if d, ok := deps[b]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s does not wait for %s to be healthy: %+v", name, b, deps[b])
			}
		}
	}

	// Gateways and workers: images built by the Dockerfile, variables the
	// code reads, logged in to NATS as their nats.conf user, all three
	// nodes, the listeners the code serves.
	known := codeEnvVars(t)
	dockerfile := readFile(t, "deployments/docker/Dockerfile")
	wantURL := "nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222"
	for _, name := range []string{"gateway", "worker"} {
		s := p.Services[name]
		if s.Build == nil || !strings.Contains(dockerfile, " AS "+s.Build.Target) || s.Image != "fngate/"+name {
			t.Errorf("%s: image %s from target %+v, which the Dockerfile lacks", name, s.Image, s.Build)
		}
		env := map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				env[k] = *v
			}
			if !known[k] {
				t.Errorf("%s sets %s, which no code reads", name, k)
			}
		}
		if env["FNGATE_NATS_USER"] != name || env["FNGATE_NATS_PASSWORD"] != composeEnv["FNGATE_NATS_"+strings.ToUpper(name)+"_PASSWORD"] || env["FNGATE_NATS_URL"] != wantURL {
			t.Errorf("%s: NATS %s as %s: want %s as %s with its password", name, env["FNGATE_NATS_URL"], env["FNGATE_NATS_USER"], wantURL, name)
		}
		if !strings.HasPrefix(env["FNGATE_REDIS_URL"], "redis://redis:6379/") {
			t.Errorf("%s: FNGATE_REDIS_URL %q is not the redis service", name, env["FNGATE_REDIS_URL"])
		}
	}
	gw := p.Services["gateway"]
	if env := gw.Environment; env["FNGATE_ADMIN_ADDR"] == nil || *env["FNGATE_ADMIN_ADDR"] != ":8081" || *env["FNGATE_ADMIN_TOKEN"] != composeEnv["FNGATE_ADMIN_TOKEN"] {
		t.Errorf("gateway: admin listener %v with the operator's token, want :8081", env["FNGATE_ADMIN_ADDR"])
	}
	var targets []string
	for _, port := range gw.Ports {
		targets = append(targets, fmt.Sprint(port.Target))
		if port.Target == 8081 && port.HostIP != "127.0.0.1" {
			t.Errorf("gateway: the admin listener is published on %q, want 127.0.0.1 only", port.HostIP)
		}
	}
	if !slices.Contains(targets, "8080") || !slices.Contains(targets, "8081") {
		t.Errorf("gateway publishes %v, want the gateway's 8080 and 8081", targets)
	}
	if w := p.Services["worker"].Environment["FNGATE_METRICS_ADDR"]; w == nil || *w != ":9091" {
		t.Errorf("worker does not serve metrics on :9091: %v", w)
	}
}

// TestComposeNeedsSecrets: without the operator's secrets compose refuses
// to start rather than run with empty passwords.
func TestComposeNeedsSecrets(t *testing.T) {
	t.Parallel()
	for v := range composeEnv {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, val := range composeEnv {
				if k != v {
					env[k] = val
				}
			}
			if _, err := loadCompose(t, env); err == nil || !strings.Contains(err.Error(), "set "+v) {
				t.Errorf("compose.yaml loads without %s: %v", v, err)
			}
		})
	}
}

// commandFlags reads "-flag value" pairs.
func commandFlags(cmd []string) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(cmd); i++ {
		if strings.HasPrefix(cmd[i], "-") && !strings.HasPrefix(cmd[i+1], "-") {
			out[cmd[i]] = cmd[i+1]
			i++
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
