package gateway

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/subject"
)

// GatewayStats is one gateway's request counts by route.
type GatewayStats = adminapi.GatewayStats

// RouteStats counts one route's requests on this gateway since it started.
type RouteStats = adminapi.RouteStats

// ID returns this gateway process's id: random, new at each start.
func (g *Gateway) ID() string { return g.id }

// gatherer is what gathering every gateway's stats needs of the NATS
// connection; *nats.Conn is one.
type gatherer interface {
	Subscriber
	PublishRequest(subj, reply string, data []byte) error
}

// How long [Gateway.AllStats] waits for the gateways' answers: GatherWindow
// after the first, and GatherLimit in all.
const (
	GatherWindow = 150 * time.Millisecond
	GatherLimit  = time.Second
)

// AllStats asks every gateway for its request counts over NATS and returns
// the answers that arrive within GatherWindow of the first (within
// GatherLimit, and until ctx ends), sorted by gateway id. When NATS cannot
// be asked, it returns this gateway's alone and the error.
func (g *Gateway) AllStats(ctx context.Context) ([]GatewayStats, error) {
	self := []GatewayStats{{Gateway: g.id, Routes: g.Stats()}}
	nc, ok := g.nats.(gatherer)
	if !ok {
		return self, nil
	}
	answers := make(chan *nats.Msg, 256)
	inbox := nats.NewInbox()
	sub, err := nc.Subscribe(inbox, func(m *nats.Msg) {
		select {
		case answers <- m:
		default: // beyond 256 gateways the rest are left out
		}
	})
	if err != nil {
		return self, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subject.GatewayStats, inbox, nil); err != nil {
		return self, err
	}
	var all []GatewayStats
	var window <-chan time.Time // from the first answer
	limit := time.After(GatherLimit)
	for done := false; !done; {
		select {
		case m := <-answers:
			var gs GatewayStats
			if json.Unmarshal(m.Data, &gs) == nil && gs.Gateway != "" {
				all = append(all, gs)
			}
			if window == nil {
				window = time.After(GatherWindow)
			}
		case <-window:
			done = true
		case <-limit:
			done = true
		case <-ctx.Done():
			done = true
		}
	}
	if !slices.ContainsFunc(all, func(gs GatewayStats) bool { return gs.Gateway == g.id }) {
		all = append(all, self[0]) // our own answer was late or lost
	}
	slices.SortFunc(all, func(a, b GatewayStats) int { return strings.Compare(a.Gateway, b.Gateway) })
	return all, nil
}

// answerStats answers GatewayStats requests until ctx ends.
func (g *Gateway) answerStats(ctx context.Context) {
	g.follow(ctx, subject.GatewayStats, "not answering other gateways' stats requests", func(m *nats.Msg) {
		b, _ := json.Marshal(GatewayStats{Gateway: g.id, Routes: g.Stats()})
		_ = m.Respond(b)
	})
}

func (a adminAPI) Stats(context.Context) (*adminapi.GatewayStats, error) {
	return &adminapi.GatewayStats{Gateway: a.g.id, Routes: a.g.Stats()}, nil
}

// AllStats gathers for at most 2s; an answer without every gateway's
// counts is not an error: it says Complete false.
func (a adminAPI) AllStats(ctx context.Context) (*adminapi.AllStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	all, err := a.g.AllStats(ctx)
	if err != nil {
		a.g.log.Warn("gathering gateway stats failed; answering with this gateway's", "err", err)
	}
	return &adminapi.AllStats{Gateways: all, Complete: err == nil}, nil
}

// stats is GET /admin/stats: this gateway's counts.
func (g *Gateway) stats(c *gin.Context) {
	s, err := g.adminAPI().Stats(c.Request.Context())
	g.adminJSON(c, s, err)
}

// statsAll is GET /admin/stats/gateways: every gateway's counts.
func (g *Gateway) statsAll(c *gin.Context) {
	all, err := g.adminAPI().AllStats(c.Request.Context())
	g.adminJSON(c, all, err)
}
