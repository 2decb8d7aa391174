package gateway

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/presence"
	"github.com/fngate/fngate/shared/subject"
)

// Subscriber subscribes to a NATS subject; *nats.Conn is one. A gateway
// whose NATS connection is one learns which workers serve which functions.
type Subscriber interface {
	Subscribe(subj string, cb nats.MsgHandler) (*nats.Subscription, error)
}

// workerTable aggregates worker heartbeats.
type workerTable struct {
	mu      sync.Mutex
	workers map[string]seenWorker
}

type seenWorker struct {
	hb      presence.Heartbeat
	expires time.Time
}

func (t *workerTable) add(hb presence.Heartbeat, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if hb.Leaving {
		delete(t.workers, hb.WorkerID)
		return
	}
	t.workers[hb.WorkerID] = seenWorker{hb: hb, expires: now.Add(hb.TTL)}
}

// FunctionLoad is one function as the live workers serve it.
type FunctionLoad = adminapi.FunctionLoad

// Functions returns every function some live worker serves, by name.
func (g *Gateway) Functions() []FunctionLoad {
	now := time.Now()
	t := &g.workers
	t.mu.Lock()
	byName := map[string]*FunctionLoad{}
	totalMillis := map[string]float64{}
	for id, w := range t.workers {
		if now.After(w.expires) {
			delete(t.workers, id)
			continue
		}
		for _, f := range w.hb.Functions {
			fl := byName[f.Name]
			if fl == nil {
				fl = &FunctionLoad{Function: f.Name}
				byName[f.Name] = fl
			}
			fl.Workers++
			fl.InFlight += f.InFlight
			fl.Concurrency += f.Concurrency
			fl.RecentOK += f.RecentOK
			fl.RecentErrors += f.RecentErrors
			totalMillis[f.Name] += f.RecentAvgMillis * float64(f.RecentOK+f.RecentErrors)
		}
	}
	t.mu.Unlock()
	out := make([]FunctionLoad, 0, len(byName))
	for name, fl := range byName {
		if n := fl.RecentOK + fl.RecentErrors; n > 0 {
			fl.RecentAvgMillis = totalMillis[name] / float64(n)
		}
		out = append(out, *fl)
	}
	slices.SortFunc(out, func(a, b FunctionLoad) int { return strings.Compare(a.Function, b.Function) })
	return out
}

// watchWorkers follows heartbeats until ctx ends.
func (g *Gateway) watchWorkers(ctx context.Context) {
	g.follow(ctx, subject.Heartbeat, "not following worker heartbeats", func(m *nats.Msg) {
		var hb presence.Heartbeat
		if json.Unmarshal(m.Data, &hb) == nil && hb.WorkerID != "" {
			g.workers.add(hb, time.Now())
		}
	})
}

// follow handles the messages on subj with cb until ctx ends, when the
// NATS connection can subscribe; failing that, it logs why not.
func (g *Gateway) follow(ctx context.Context, subj, why string, cb nats.MsgHandler) {
	sub, ok := g.nats.(Subscriber)
	if !ok {
		return
	}
	s, err := sub.Subscribe(subj, cb)
	if err != nil {
		g.log.Warn(why, "err", err)
		return
	}
	<-ctx.Done()
	_ = s.Unsubscribe()
}

func (a adminAPI) Functions(ctx context.Context, q adminapi.FunctionQuery) (*adminapi.FunctionList, error) {
	limit, after, err := pageOf(q.Page)
	if err != nil {
		return nil, apiError(err)
	}
	all := a.g.withCaps(ctx, a.g.Functions())
	i, _ := slices.BinarySearchFunc(all, after, func(f FunctionLoad, name string) int { return strings.Compare(f.Function, name) })
	if i < len(all) && after != "" && all[i].Function == after {
		i++
	}
	out := &adminapi.FunctionList{Functions: all[i:min(i+limit, len(all))]}
	if i+limit < len(all) {
		out.NextCursor = encodeCursor(out.Functions[len(out.Functions)-1].Function)
	}
	return out, nil
}

func (g *Gateway) listFunctions(c *gin.Context) { adminPage(g, c, g.adminAPI().Functions) }
