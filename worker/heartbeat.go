package worker

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nuid"

	"github.com/fngate/fngate/shared/presence"
	"github.com/fngate/fngate/shared/subject"
)

func (w *Worker) heartbeatMsg(leaving bool) []byte {
	host, _ := os.Hostname()
	hb := presence.Heartbeat{WorkerID: w.id, Host: host, TTL: 3 * w.cfg.HeartbeatInterval, Leaving: leaving}
	now := time.Now()
	w.mu.Lock()
	for _, f := range w.fns {
		ok, errs, avg := f.recent.stats(now)
		hb.Functions = append(hb.Functions, presence.Function{
			Name: f.name, InFlight: f.inflight.Load(), Concurrency: f.concurrency,
			RecentOK: ok, RecentErrors: errs, RecentAvgMillis: avg,
		})
	}
	w.mu.Unlock()
	hb.Code = w.codeStatus()
	slices.SortFunc(hb.Functions, func(a, b presence.Function) int { return strings.Compare(a.Name, b.Name) })
	b, _ := json.Marshal(hb)
	return b
}

// beat publishes heartbeats until stop is closed, then a last one saying
// the worker leaves.
func (w *Worker) beat(stop <-chan struct{}) {
	t := time.NewTicker(w.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		_ = w.nc.Publish(subject.Heartbeat, w.heartbeatMsg(false))
		select {
		case <-stop:
			_ = w.nc.Publish(subject.Heartbeat, w.heartbeatMsg(true))
			_ = w.nc.Flush()
			return
		case <-t.C:
		}
	}
}

func newWorkerID() string { return nuid.Next() }
