package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/fngate/fngate/shared/route"
)

// SyncRoutes loads the route table from the store and swaps it in.
func (g *Gateway) SyncRoutes(ctx context.Context) error {
	g.reload.Lock()
	defer g.reload.Unlock()
	rs, ver, err := g.store.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("gateway: load routes: %w", err)
	}
	g.table.Store(route.NewTable(rs, g.cfg.DefaultDomains))
	if old := g.version.Swap(ver); old != ver {
		g.log.Info("routes loaded", "routes", len(rs), "version", ver)
	}
	return nil
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
