package testenv

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/natsserver"
)

func init() {
	// go-redis logs every failed dial; the outage tests cause them on purpose.
	redis.SetLogger(quietRedis{})
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// NATS starts an in-process nats-server with JetStream on 127.0.0.1 and a
// free port.
func NATS(t testing.TB) *server.Server {
	t.Helper()
	return NATSAt(t, "127.0.0.1:-1", t.TempDir())
}

// NATSAt starts an in-process nats-server on listen with its JetStream
// store in dir; restarting one on the same address and dir keeps its
// streams.
func NATSAt(t testing.TB, listen, dir string) *server.Server {
	t.Helper()
	s, err := natsserver.Start(natsserver.Config{Listen: listen, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// NATSMaxStore starts an in-process nats-server whose JetStream may store
// at most maxStore bytes (max_file_store): a server running out of
// storage.
func NATSMaxStore(t testing.TB, maxStore int64) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		JetStreamMaxStore: maxStore, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return s
}

// Conn connects to s and closes the connection at cleanup.
func Conn(t testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Redis is a redis-server process owned by a test.
type Redis struct {
	t    testing.TB
	Port int
	// Password is the server's requirepass, for Client and the start-up
	// check; empty for none.
	Password string
	dir      string
	// args are appended to the command line (replication, cluster mode).
	args []string
	// sentinelConf, when set, runs the process as a sentinel on this
	// config file, which the sentinel rewrites.
	sentinelConf string
	cmd          *exec.Cmd
	exited       chan struct{}
}

// Addr returns host:port.
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// URL returns a redis:// URL for database 0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Client returns a go-redis client closed at cleanup.
func (r *Redis) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), Password: r.Password})
	r.t.Cleanup(func() { _ = c.Close() })
	return c
}

// StartRedis starts redis-server on a free loopback port with persistence
// off and waits until it answers PING.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	return startRedis(t, nil)
}

// startRedis starts a redis-server; setup, when set, runs before each
// attempt (with the port chosen) to set the process's own options.
func startRedis(t testing.TB, setup func(r *Redis) error) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not found on PATH: run scripts/test.sh, which installs it (apt-get install redis-server)")
	}
	r := &Redis{t: t, dir: t.TempDir()}
	var err error
	for range 5 { // a free port can be taken between probe and bind
		r.Port = FreePort(t)
		if setup != nil {
			if err = setup(r); err != nil {
				t.Fatal(err)
			}
		}
		if err = r.Start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// Start (re)starts the server on its port.
func (r *Redis) Start() error {
	var args []string
	if r.sentinelConf != "" {
		args = []string{r.sentinelConf, "--sentinel"}
	}
	args = append(args, "--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--protected-mode", "no", "--loglevel", "warning")
	if r.sentinelConf == "" {
		args = append(args, "--save", "", "--appendonly", "no")
	}
	r.cmd = exec.Command("redis-server", append(args, r.args...)...)
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(exited) }()
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), Password: r.Password, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on port %d exited at start", r.Port)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			r.exited = exited
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = r.cmd.Process.Kill()
	<-exited
	return fmt.Errorf("redis-server on port %d not answering PING within 10s", r.Port)
}

// Stop kills the server and waits for it to exit. It is safe to call twice.
func (r *Redis) Stop() {
	if r.cmd == nil || r.exited == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.exited = nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Eventually polls cond every 10ms until it returns true or timeout passes,
// then fails the test with msg.
func Eventually(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Recv receives from ch, failing the test with what if nothing arrives
// within timeout: a test waiting on a goroutine's channel fails instead of
// hanging until the suite's -timeout (20 minutes in scripts/test.sh).
func Recv[T any](t testing.TB, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("not within %s: %s", timeout, what)
		panic("unreachable")
	}
}

// NATSCluster starts n in-process nats-servers with JetStream clustered on
// loopback and waits until JetStream has a meta leader. Each server can be
// shut down by the test (Shutdown) to kill a node.
func NATSCluster(t testing.TB, n int) []*server.Server {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ports[i] = FreePort(t)
	}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: "127.0.0.1:" + strconv.Itoa(p)})
	}
	servers := make([]*server.Server, n)
	for i := range servers {
		opts := &server.Options{
			ServerName: "n" + strconv.Itoa(i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "fngate-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:  routes,
		}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		servers[i] = s
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	}
	for _, s := range servers {
		if !s.ReadyForConnections(20 * time.Second) {
			t.Fatal("cluster node not ready")
		}
	}
	Eventually(t, 30*time.Second, "JetStream meta leader elected", func() bool {
		for _, s := range servers {
			if s.JetStreamIsLeader() {
				return true
			}
		}
		return false
	})
	return servers
}

// ClientURLs joins the servers' client URLs for nats.Connect.
func ClientURLs(servers []*server.Server) string {
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = s.ClientURL()
	}
	return strings.Join(urls, ",")
}
