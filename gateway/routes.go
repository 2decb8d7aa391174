package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fngate/fngate/shared/route"
)

// SyncRoutes loads the route table from the store and swaps it in.
//
// Every change to the table raises its version, deleting the last route
// included, so a store whose version is below the one served has lost
// data (a Redis restarted without persistence, a failover to an empty
// replica: the version key is gone, which reads as 0), and so has one
// whose table vanished at the version served. Its table is not
// taken: the gateway keeps serving its own and writes a table back above
// its version (see reseed); the gateways converge on that.
func (g *Gateway) SyncRoutes(ctx context.Context) error {
	g.reload.Lock()
	defer g.reload.Unlock()
	rs, ver, err := g.store.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("gateway: load routes: %w", err)
	}
	// The same version with its table gone is a loss too (a legitimate
	// deletion of the last route raises the version).
	if held := g.version.Load(); g.table.Load() != nil && (ver < held || ver == held && len(rs) == 0 && len(g.routes) > 0) {
		if rs, ver, err = g.reseed(ctx, ver, held); err != nil || ver <= held {
			return err
		}
	}
	if g.lost.Swap(false) {
		g.log.Info("route store holds a table again", "version", ver)
	}
	g.metrics.storeBehind.Set(0)
	g.routes = rs
	g.table.Store(route.NewTable(rs, g.cfg.DefaultDomains))
	if old := g.version.Swap(ver); old != ver {
		g.log.Info("routes loaded", "routes", len(rs), "version", ver)
	}
	return nil
}

// reseed answers a store whose table (version ver) is older than the one
// served (held): it writes back FNGATE_ROUTES when configured, else the
// table this gateway serves, at a version above held (an idempotent step:
// when several gateways do it at once, one wins), then reads the store
// again. The table served stays until the store is ahead of it again.
func (g *Gateway) reseed(ctx context.Context, ver, held int64) ([]route.Route, int64, error) {
	g.metrics.storeBehind.Set(1)
	seed, from := g.cfg.SeedRoutes, "FNGATE_ROUTES"
	if len(seed) == 0 {
		seed, from = g.routes, "the table this gateway serves"
	}
	if !g.lost.Swap(true) {
		g.metrics.storeLost.Inc()
		g.log.Error("route store lost its table (its version went back); serving the last table and writing routes back", "store_version", ver, "served_version", held, "from", from)
	}
	// A deep copy: the store normalises what it writes, in place, and the
	// served table shares these routes with the calls reading it.
	var copied []route.Route
	b, err := json.Marshal(seed)
	if err == nil {
		err = json.Unmarshal(b, &copied)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("gateway: copy routes: %w", err)
	}
	if _, err := g.store.Seed(ctx, copied, held); err != nil {
		return nil, 0, fmt.Errorf("gateway: write routes back: %w", err)
	}
	g.metrics.reseeds.Inc()
	rs, ver, err := g.store.Snapshot(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("gateway: load routes: %w", err)
	}
	return rs, ver, nil
}

// watchRoutes reloads on every change notification and checks the version
// every RoutesResync, so a missed notification (or a Redis restart) heals.
// While Redis is unreachable the last table keeps serving.
func (g *Gateway) watchRoutes(ctx context.Context) {
	changes := g.store.Changes(ctx)
	tick := time.NewTicker(g.cfg.RoutesResync)
	defer tick.Stop()
	failing := false
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-changes:
			err = g.SyncRoutes(ctx)
		case <-tick.C:
			var ver int64
			if ver, err = g.store.Version(ctx); err == nil && (ver != g.version.Load() || g.table.Load() == nil) {
				err = g.SyncRoutes(ctx)
			}
		}
		g.metrics.setRedisUp(err == nil)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			g.log.Warn("route store unreachable; serving last known routes", "err", err)
			failing = true
		case err == nil && failing:
			g.log.Info("route store reachable again")
			failing = false
		}
	}
}
