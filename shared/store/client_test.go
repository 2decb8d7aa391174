package store

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
)

// TestSentinel reaches Redis through a real Sentinel: the route store works
// through the client NewClient builds from sentinel addresses.
func TestSentinel(t *testing.T) {
	t.Parallel()
	master := testenv.StartRedis(t)
	port := testenv.FreePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor fngate 127.0.0.1 %d 1\n", port, master.Port)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("redis-server", conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	rdb, err := NewClient(ClientConfig{Addrs: []string{fmt.Sprintf("127.0.0.1:%d", port)}, MasterName: "fngate"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	if _, ok := rdb.(*redis.Client); !ok {
		t.Fatalf("sentinel config built a %T, want a failover *redis.Client", rdb)
	}
	ctx := context.Background()
	testenv.Eventually(t, 10*time.Second, "sentinel answers with the master", func() bool {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return rdb.Ping(c).Err() == nil
	})
	rs := NewRoutes(rdb)
	if err := rs.Create(ctx, &route.Route{Domain: "*", Path: "/s", Function: "f"}); err != nil {
		t.Fatal(err)
	}
	// The write landed on the master the sentinel names.
	if n, err := master.Client().HLen(ctx, keyRoutes).Result(); err != nil || n != 1 {
		t.Fatalf("master holds %d routes, %v", n, err)
	}
	if _, err := NewClient(ClientConfig{MasterName: "x"}); err == nil {
		t.Fatal("master name without addresses accepted")
	}
	if _, err := NewClient(ClientConfig{URL: "nonsense://"}); err == nil {
		t.Fatal("bad URL accepted")
	}
}
