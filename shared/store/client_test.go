package store

import (
	"fmt"
	"testing"
)

// TestNewClientModes checks which go-redis client each configuration
// builds; TestSentinelFailover and TestCluster run them against real
// servers.
func TestNewClientModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  ClientConfig
		want string // the client's type; "" for a refused config
	}{
		{"url", ClientConfig{URL: "redis://127.0.0.1:6379/2"}, "*redis.Client"},
		{"sentinel", ClientConfig{URL: "redis://127.0.0.1:6379/0", Addrs: []string{"127.0.0.1:26379"}, MasterName: "m"}, "*redis.Client"},
		{"cluster", ClientConfig{URL: "redis://127.0.0.1:6379/0", Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001"}}, "*redis.ClusterClient"},
		{"cluster seed", ClientConfig{Addrs: []string{"127.0.0.1:7000"}}, "*redis.ClusterClient"},
		{"cluster database", ClientConfig{URL: "redis://127.0.0.1:6379/1", Addrs: []string{"127.0.0.1:7000"}}, ""},
		{"master without sentinels", ClientConfig{URL: "redis://127.0.0.1:6379/0", MasterName: "m"}, ""},
		{"nothing", ClientConfig{}, ""},
		{"bad URL", ClientConfig{URL: "nonsense://"}, ""},
	} {
		c, err := NewClient(tc.cfg)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%s: accepted", tc.name)
		case tc.want != "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case err == nil && fmt.Sprintf("%T", c) != tc.want:
			t.Errorf("%s: built a %T, want a %s", tc.name, c, tc.want)
		}
		if err == nil {
			_ = c.Close()
		}
	}
}
