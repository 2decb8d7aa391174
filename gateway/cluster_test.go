package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// TestClusterLeaderKilled runs fngate on a three-node JetStream cluster
// with R3 streams and kills the invocation stream's leader under mixed sync
// and async load: sync calls recover within seconds, and every async
// invocation that got a 202 succeeds exactly once.
func TestClusterLeaderKilled(t *testing.T) {
	t.Parallel()
	nodes := testenv.NATSCluster(t, 3)
	// A call in flight on a connection to the killed node loses its reply
	// and fails at its deadline: keep that short.
	s := gt.NewWithNATS(t, nodes[0],
		route.Route{Domain: "*", Path: "/sync", Function: "count", Timeout: route.Duration(3 * time.Second)},
		route.Route{Domain: "*", Path: "/async", Function: "count", Mode: "async"})
	s.URL = testenv.ClientURLs(nodes)
	s.StreamReplicas = 3
	gw := s.Gateway(gateway.Config{NoWorkerWait: 5 * time.Second})
	count := &runCounter{}
	s.Worker(worker.Config{}, map[string]sdk.Handler{"count": count})
	s.Worker(worker.Config{}, map[string]sdk.Handler{"count": count})

	// Which node leads the invocation stream?
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	var leader string
	testenv.Eventually(t, 20*time.Second, "stream leader known", func() bool {
		st, err := js.Stream(context.Background(), subject.StreamInvocations)
		if err != nil {
			return false
		}
		info, err := st.Info(context.Background())
		if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
			return false
		}
		leader = info.Cluster.Leader
		return true
	})

	var accepted sync.Map // request id → invocation id
	var syncOK, syncFail atomic.Int64
	var lastSyncFail atomic.Int64 // unix ms when the last failed call started
	var lastSyncOK atomic.Int64   // unix ms when the last successful call started
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("c%d-%d", c, i)
				if c%2 == 0 {
					started := time.Now().UnixMilli()
					if doQuiet(gw.URL+"/sync", id) == 200 {
						syncOK.Add(1)
						storeMax(&lastSyncOK, started)
					} else {
						syncFail.Add(1)
						storeMax(&lastSyncFail, started)
					}
					continue
				}
				req, _ := http.NewRequest("POST", gw.URL+"/async", nil)
				req.Header.Set("X-Request-Id", id)
				resp, err := gt.Client.Do(req)
				if err != nil {
					continue
				}
				var a struct{ InvocationID string }
				_ = json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				if resp.StatusCode == 202 {
					accepted.Store(id, a.InvocationID)
				}
			}
		})
	}
	time.Sleep(time.Second) // load before the kill: a duration of traffic, not a wait for state
	var killedAt time.Time
	for _, n := range nodes {
		if n.Name() == leader {
			killedAt = time.Now()
			n.Shutdown()
		}
	}
	if killedAt.IsZero() {
		t.Fatalf("leader %q is none of the nodes", leader)
	}
	time.Sleep(6 * time.Second) // load through the election
	close(stop)
	wg.Wait()

	if syncOK.Load() == 0 {
		t.Fatal("no sync call succeeded")
	}
	// The promise is that sync calls recover during the election, not by
	// a given time on a busy machine: the load (6s after the kill) must end
	// on successes. How soon they recovered is logged.
	if last := lastSyncFail.Load(); last != 0 {
		t.Logf("the last failed sync call started %s after the kill", time.UnixMilli(last).Sub(killedAt))
		if lastSyncOK.Load() <= last {
			t.Errorf("no sync call started after the last failed one (%s after the kill) succeeded", time.UnixMilli(last).Sub(killedAt))
		}
	}
	n := 0
	accepted.Range(func(_, _ any) bool { n++; return true })
	if n == 0 {
		t.Fatal("no async invocation accepted")
	}
	testenv.Eventually(t, 60*time.Second, "every accepted invocation ran", func() bool {
		runs, done := count.counts(), true
		accepted.Range(func(k, _ any) bool {
			if runs[k.(string)] == 0 {
				done = false
			}
			return done
		})
		return done
	})
	runs := count.counts()
	accepted.Range(func(k, _ any) bool {
		if c := runs[k.(string)]; c != 1 {
			t.Errorf("accepted %s ran %d times", k, c)
		}
		return true
	})
	accepted.Range(func(_, v any) bool {
		inv, err := s.Invocations.Get(context.Background(), v.(string))
		if err != nil || inv.Status != record.StatusSucceeded {
			t.Errorf("invocation %s: %+v %v", v, inv, err)
		}
		return true
	})
	t.Logf("killed leader %s; sync ok %d, failed %d; %d async accepted, all succeeded once", leader, syncOK.Load(), syncFail.Load(), n)
}

func doQuiet(url, id string) int {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Request-Id", id)
	resp, err := gt.Client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// storeMax stores v in a if it is larger: calls of two clients end out of
// order.
func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
