package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a Redis master, one replica of it and one or more sentinels
// watching them, each a redis-server process on a free loopback port owned
// by the test. The sentinels declare the master down after a second without
// an answer and promote the replica a few seconds after that. Master and
// Replica are the roles at start; a failover swaps them.
type Sentinel struct {
	t          testing.TB
	MasterName string
	Master     *Redis
	Replica    *Redis
	Sentinels  []*Redis
	// Password and SentinelPassword are the data servers' and the
	// sentinels' requirepass (SentinelOptions); empty for none.
	Password, SentinelPassword string
}

// sentinelClient is a client of the first sentinel still running.
func (s *Sentinel) sentinelClient() *redis.SentinelClient {
	live := s.Sentinels[0]
	for _, sn := range s.Sentinels {
		if sn.exited != nil {
			live = sn
			break
		}
	}
	return redis.NewSentinelClient(&redis.Options{Addr: live.Addr(), Password: s.SentinelPassword, MaxRetries: -1})
}

// Addrs returns the sentinels' host:port, for a client's sentinel list.
func (s *Sentinel) Addrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i, r := range s.Sentinels {
		addrs[i] = r.Addr()
	}
	return addrs
}

// MasterAddr asks the first running sentinel which host:port is the master
// now.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	c := s.sentinelClient()
	defer c.Close()
	hp, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil {
		return "", err
	}
	return hp[0] + ":" + hp[1], nil
}

// RedisSentinel starts a master, a replica and a sentinel (quorum 1), and
// waits until the replica is in sync and the sentinel knows it, so that
// killing the master (s.Master.Stop) leads to a failover within a few
// seconds.
func RedisSentinel(t testing.TB) *Sentinel {
	t.Helper()
	return RedisSentinelWith(t, SentinelOptions{})
}

// SentinelOptions vary RedisSentinelWith's group.
type SentinelOptions struct {
	// Password is the master's and the replica's requirepass (the replica
	// and the sentinels use it to reach the master); SentinelPassword the
	// sentinels' own. Empty: none.
	Password, SentinelPassword string
	// Sentinels is how many sentinels watch the master (default 1). With
	// more than one, the quorum is a majority and RedisSentinelWith waits
	// until each knows the others, so that a failover can be agreed.
	Sentinels int
}

// RedisSentinelWith is RedisSentinel with opts.
func RedisSentinelWith(t testing.TB, opts SentinelOptions) *Sentinel {
	t.Helper()
	n := max(opts.Sentinels, 1)
	s := &Sentinel{t: t, MasterName: "fngate", Password: opts.Password, SentinelPassword: opts.SentinelPassword}
	var auth []string
	if opts.Password != "" {
		auth = []string{"--requirepass", opts.Password, "--masterauth", opts.Password}
	}
	// No 5s wait for more replicas before the first sync.
	s.Master = startRedis(t, func(r *Redis) error {
		r.Password = opts.Password
		r.args = append([]string{"--repl-diskless-sync-delay", "0"}, auth...)
		return nil
	})
	s.Replica = startRedis(t, func(r *Redis) error {
		r.Password = opts.Password
		r.args = append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(s.Master.Port), "--repl-diskless-sync-delay", "0"}, auth...)
		return nil
	})
	ctx := context.Background()
	// The sentinel learns the replicas from the master's INFO, which it
	// reads on connecting and then every 10s: attach the replica first.
	replica := s.Replica.Client()
	Eventually(t, 20*time.Second, "replica attached to the master", func() bool {
		info, err := replica.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	conf := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d %[3]d\n"+
		"sentinel down-after-milliseconds %[1]s 1000\n"+
		"sentinel failover-timeout %[1]s 5000\n", s.MasterName, s.Master.Port, n/2+1)
	if opts.Password != "" {
		conf += fmt.Sprintf("sentinel auth-pass %s %s\n", s.MasterName, opts.Password)
	}
	if opts.SentinelPassword != "" {
		// Sentinels reach one another with their own password too.
		conf += "requirepass " + opts.SentinelPassword + "\nsentinel sentinel-pass " + opts.SentinelPassword + "\n"
	}
	for range n {
		s.Sentinels = append(s.Sentinels, startRedis(t, func(r *Redis) error {
			r.Password = opts.SentinelPassword
			// The sentinel rewrites its file: a fresh one for every attempt.
			r.sentinelConf = filepath.Join(r.dir, "sentinel.conf")
			return os.WriteFile(r.sentinelConf, []byte(conf), 0o600)
		}))
	}
	if n > 1 {
		// Sentinels find one another through the master's hello channel,
		// every 2s.
		for _, sn := range s.Sentinels {
			c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr(), Password: opts.SentinelPassword, MaxRetries: -1})
			Eventually(t, 30*time.Second, "sentinel "+sn.Addr()+" knows the others", func() bool {
				m, err := c.Master(ctx, s.MasterName).Result()
				return err == nil && m["num-other-sentinels"] == strconv.Itoa(n-1)
			})
			_ = c.Close()
		}
	}
	s.WaitReplica(s.Replica, 30*time.Second)
	return s
}

// WaitReplica waits until r is a replica in sync: the sentinel knows it
// (so it can promote it), and it has acknowledged everything the master
// wrote so far. Replication is asynchronous: a test that kills the master
// right after a write waits here first, or the write may be lost.
func (s *Sentinel) WaitReplica(r *Redis, timeout time.Duration) {
	s.t.Helper()
	sc := s.sentinelClient()
	defer sc.Close()
	Eventually(s.t, timeout, "sentinel sees "+r.Addr()+" as a replica in sync", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		rs, err := sc.Replicas(ctx, s.MasterName).Result()
		if err != nil {
			return false
		}
		known := false
		for _, rep := range rs {
			// Its own view of the link is refreshed only every 10s: the
			// master's, below, is current.
			if rep["ip"]+":"+rep["port"] == r.Addr() && rep["flags"] == "slave" {
				known = true
			}
		}
		if !known {
			return false
		}
		addr, err := s.MasterAddr(ctx)
		if err != nil {
			return false
		}
		m := redis.NewClient(&redis.Options{Addr: addr, Password: s.Password, MaxRetries: -1})
		defer m.Close()
		info, err := m.Info(ctx, "replication").Result()
		return err == nil && replicaCaughtUp(info, r.Port)
	})
}

// replicaCaughtUp reads a master's INFO replication: the replica on port
// (0: any replica) is online (the master streams writes to it; right after the first sync
// it buffers them until the replica's first ack) and has acknowledged the
// master's offset.
func replicaCaughtUp(info string, port int) bool {
	var offset, acked string
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "master_repl_offset" {
			offset = v
		}
		if strings.HasPrefix(k, "slave") && (port == 0 || strings.Contains(v, ",port="+strconv.Itoa(port)+",")) {
			fields := map[string]string{}
			for _, f := range strings.Split(v, ",") {
				fk, fv, _ := strings.Cut(f, "=")
				fields[fk] = fv
			}
			if fields["state"] == "online" {
				acked = fields["offset"]
			}
		}
	}
	return offset != "" && acked == offset
}

// Failover asks the sentinel for a failover while the master is up (a
// planned switch): the replica is promoted and the master demoted.
func (s *Sentinel) Failover(ctx context.Context) error {
	c := s.sentinelClient()
	defer c.Close()
	return c.Failover(ctx, s.MasterName).Err()
}

// WaitMaster waits until the sentinel names r as the master.
func (s *Sentinel) WaitMaster(r *Redis, timeout time.Duration) {
	s.t.Helper()
	Eventually(s.t, timeout, "sentinel names "+r.Addr()+" master", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		addr, err := s.MasterAddr(ctx)
		return err == nil && addr == r.Addr()
	})
}

// Cluster is a Redis Cluster of three masters, with or without a replica
// each, every node a redis-server process on free loopback ports (client
// and bus) owned by the test.
type Cluster struct {
	Nodes []*Redis
}

// Addrs returns the nodes' host:port, for a cluster client's seed list.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, r := range c.Nodes {
		addrs[i] = r.Addr()
	}
	return addrs
}

// RedisCluster starts three cluster-enabled nodes, assigns them the slots
// with redis-cli --cluster create, and waits until every node reports
// cluster_state:ok.
func RedisCluster(t testing.TB) *Cluster {
	t.Helper()
	return redisCluster(t, 0)
}

// RedisClusterWithReplicas is RedisCluster with a replica for each master
// (six nodes): a master that fails is replaced by its replica about two
// seconds later (cluster-node-timeout 1s).
func RedisClusterWithReplicas(t testing.TB) *Cluster {
	t.Helper()
	return redisCluster(t, 1)
}

func redisCluster(t testing.TB, replicas int) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatalf("redis-cli not found on PATH: run scripts/test.sh, which installs it (apt-get install redis-tools)")
	}
	c := &Cluster{}
	nodeTimeout := "2000"
	if replicas > 0 {
		nodeTimeout = "1000" // a failed master is replaced sooner
	}
	for range 3 * (1 + replicas) {
		c.Nodes = append(c.Nodes, startRedis(t, func(r *Redis) error {
			// The bus port is chosen too: port+10000 may be taken or
			// out of range.
			r.args = []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-port", strconv.Itoa(FreePort(t)), "--cluster-node-timeout", nodeTimeout}
			return nil
		}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, c.Addrs()...), "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		c.WaitOK(n, 30*time.Second)
	}
	if replicas > 0 {
		// Every replica attached and in sync before the test begins.
		for _, n := range c.Nodes {
			rc := n.Client()
			Eventually(t, 30*time.Second, "replication settled on "+n.Addr(), func() bool {
				info, err := rc.Info(ctx, "replication").Result()
				return err == nil && (strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") ||
					strings.Contains(info, "role:master") && strings.Contains(info, "connected_slaves:1"))
			})
		}
	}
	return c
}

// WaitOK waits until node n reports cluster_state:ok.
func (c *Cluster) WaitOK(n *Redis, timeout time.Duration) {
	n.t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
	defer rc.Close()
	Eventually(n.t, timeout, "cluster_state:ok on "+n.Addr(), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		info, err := rc.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	})
}

// MasterOf returns the node that is master for key now.
func (c *Cluster) MasterOf(ctx context.Context, key string) (*Redis, error) {
	for _, n := range c.Nodes {
		if n.exited == nil {
			continue
		}
		rc := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		slot, err := rc.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			rc.Close()
			continue
		}
		shards, err := rc.ClusterShards(ctx).Result()
		rc.Close()
		if err != nil {
			continue
		}
		for _, sh := range shards {
			owns := false
			for _, r := range sh.Slots {
				owns = owns || r.Start <= slot && slot <= r.End
			}
			for _, nd := range sh.Nodes {
				if !owns || nd.Role != "master" || nd.Health != "online" {
					continue
				}
				for _, m := range c.Nodes {
					if m.Port == int(nd.Port) {
						return m, nil
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("no node knows the master of %q", key)
}

// CaughtUp reports whether master n's replicas have acknowledged all it
// wrote: replication is asynchronous, and a test that crashes a master
// right after a write waits for this first, or the write may be lost.
func (c *Cluster) CaughtUp(ctx context.Context, n *Redis) bool {
	rc := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
	defer rc.Close()
	info, err := rc.Info(ctx, "replication").Result()
	return err == nil && replicaCaughtUp(info, 0)
}
