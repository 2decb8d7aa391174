package verify

import (
	"testing"

	"sigs.k8s.io/yaml"
)

// TestBackendValues: the values for the NATS and Redis charts and the fngate
// chart's defaults describe the same installation: a NATS cluster with
// JetStream and at least as many nodes as stream replicas, the Secret the
// gateways and workers read, the Sentinel master they ask for.
func TestBackendValues(t *testing.T) {
	t.Parallel()
	var chart struct {
		Secrets struct {
			Nats struct {
				Name                                  string
				GatewayPasswordKey, WorkerPasswordKey string
			}
			Redis struct{ Name, Key string }
		}
		Nats  struct{ StreamReplicas int }
		Redis struct{ Master string }
	}
	var nats struct {
		Config struct {
			Cluster struct {
				Enabled  bool
				Replicas int
			}
			Jetstream struct{ Enabled bool }
		}
		Container struct {
			Env map[string]struct {
				ValueFrom struct {
					SecretKeyRef struct{ Name, Key string }
				}
			}
		}
	}
	var redis struct {
		Sentinel struct {
			Enabled   bool
			MasterSet string
		}
		Auth struct {
			Enabled, Sentinel         bool
			ExistingSecret            string
			ExistingSecretPasswordKey string
		}
	}
	for f, v := range map[string]any{"deployments/helm/fngate/values.yaml": &chart, "deployments/helm/nats-values.yaml": &nats, "deployments/helm/redis-values.yaml": &redis} {
		if err := yaml.Unmarshal([]byte(readFile(t, f)), v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	c := nats.Config
	if !c.Cluster.Enabled || !c.Jetstream.Enabled || c.Cluster.Replicas < chart.Nats.StreamReplicas || chart.Nats.StreamReplicas < 3 {
		t.Errorf("nats-values.yaml: cluster %+v, JetStream %v; the chart's streams want %d replicas (R3)", c.Cluster, c.Jetstream.Enabled, chart.Nats.StreamReplicas)
	}
	for v, key := range map[string]string{"FNGATE_NATS_GATEWAY_PASSWORD": chart.Secrets.Nats.GatewayPasswordKey, "FNGATE_NATS_WORKER_PASSWORD": chart.Secrets.Nats.WorkerPasswordKey} {
		if ref := nats.Container.Env[v].ValueFrom.SecretKeyRef; ref.Name != chart.Secrets.Nats.Name || ref.Key != key {
			t.Errorf("nats-values.yaml: %s from %+v; the chart reads %s/%s", v, ref, chart.Secrets.Nats.Name, key)
		}
	}
	if !redis.Sentinel.Enabled || redis.Sentinel.MasterSet != chart.Redis.Master || !redis.Auth.Enabled || !redis.Auth.Sentinel ||
		redis.Auth.ExistingSecret != chart.Secrets.Redis.Name || redis.Auth.ExistingSecretPasswordKey != chart.Secrets.Redis.Key {
		t.Errorf("redis-values.yaml: %+v; the chart asks Sentinel for master %q with password %+v", redis, chart.Redis.Master, chart.Secrets.Redis)
	}
}
