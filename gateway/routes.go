package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/fngate/fngate/shared/route"
)

// SyncRoutes loads the whole route table from the store (a snapshot, read
// a page at a time) and swaps it in. Changes are applied one by one as
// they are published (see applyChange); a snapshot is for the start, a
// gap in versions and a change too large to publish.
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
	return g.syncLocked(ctx)
}

func (g *Gateway) syncLocked(ctx context.Context) error {
	tab, ver, err := g.scan(ctx)
	if err != nil {
		return err
	}
	epoch, err := g.store.Epoch(ctx)
	if err != nil {
		return err
	}
	// The same version with its table gone is a loss too (a legitimate
	// deletion of the last route raises the version), and so is a table of
	// another epoch: written anew after a loss, before this gateway saw
	// the store empty, at any version.
	if held, cur := g.version.Load(), g.table.Load(); cur != nil && (ver < held || ver == held && tab.Len() == 0 && cur.Len() > 0 || g.otherEpoch(epoch)) {
		above := max(held, ver)
		if err = g.reseed(ctx, ver, above, cur); err != nil {
			return err
		}
		// Above held now, or at it when the store held these routes
		// already in a new epoch (another gateway wrote them back).
		if tab, ver, err = g.scan(ctx); err != nil || ver < held {
			return err
		}
		if epoch, err = g.store.Epoch(ctx); err != nil {
			return err
		}
	}
	g.epoch.Store(&epoch)
	if g.lost.Swap(false) {
		g.log.Info("route store holds a table again", "version", ver)
	}
	g.metrics.storeBehind.Set(0)
	g.metrics.snapshots.Inc()
	if old := g.version.Load(); old != ver {
		g.log.Info("routes loaded", "routes", tab.Len(), "version", ver)
	}
	g.swap(tab, ver)
	// Reading a large table left its JSON pages, and the table it
	// replaced, as garbage about as large as the table: give that memory
	// back now rather than carry it until the runtime's scavenger does.
	// Snapshots are rare (a start, a gap); changes never come here.
	if tab.Len() >= bigTable {
		debug.FreeOSMemory()
	}
	return nil
}

// bigTable is the size from which the memory a snapshot leaves behind is
// returned to the system at once.
const bigTable = 10_000

// scan reads the store's table into a new table, a page at a time.
func (g *Gateway) scan(ctx context.Context) (*route.Table, int64, error) {
	b := route.NewBuilder(g.cfg.DefaultDomains)
	ver, err := g.store.Scan(ctx, func(page []route.Route) error {
		b.Set(page...)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("gateway: load routes: %w", err)
	}
	return b.Table(), ver, nil
}

// swap serves tab as the table of version ver and wakes whoever waits
// for a version (see catchUp). Under reload.
func (g *Gateway) swap(tab *route.Table, ver int64) {
	g.table.Store(tab)
	g.version.Store(ver)
	g.advancedMu.Lock()
	if g.advanced != nil {
		close(g.advanced)
		g.advanced = nil
	}
	g.advancedMu.Unlock()
}

// otherEpoch reports whether epoch is not the one of the table served
// (one served without an epoch adopts the first it sees).
func (g *Gateway) otherEpoch(epoch string) bool {
	held := g.epoch.Load()
	return held != nil && *held != "" && epoch != *held
}

// storeMoved reports whether the store's table is not the one served: another
// version, or another epoch.
func (g *Gateway) storeMoved(ctx context.Context) (bool, error) {
	ver, err := g.store.Version(ctx)
	if err != nil || ver != g.version.Load() || g.table.Load() == nil {
		return err == nil, err
	}
	epoch, err := g.store.Epoch(ctx)
	return err == nil && g.otherEpoch(epoch), err
}

// applyChange brings the table served up to date with a published change:
// the next version is applied in place, in the time the changed routes
// take; anything else (no table yet, a gap in versions, a change not
// described, a store gone back) loads a snapshot, or nothing when the
// version served is current.
func (g *Gateway) applyChange(ctx context.Context, c route.Change) error {
	g.reload.Lock()
	defer g.reload.Unlock()
	held, tab := g.version.Load(), g.table.Load()
	switch {
	case tab == nil:
	case c.Epoch != "" && g.otherEpoch(c.Epoch):
		// Written into a table Redis started anew, at any version:
		// a loss this gateway did not see (see syncLocked).
		g.log.Info("route change of another table epoch; loading a snapshot", "served_version", held, "change_version", c.Version)
	case c.Subscribed: // changes may have been missed: compare versions
		if moved, err := g.storeMoved(ctx); err != nil || !moved {
			return err
		}
	case c.Version == held+1 && !c.Resync:
		b := tab.Edit()
		b.Delete(c.Del...)
		b.Set(c.Set...)
		g.metrics.changesApplied.Inc()
		if c.Epoch != "" {
			g.epoch.Store(&c.Epoch) // the same, or the first one seen
		}
		g.swap(b.Table(), c.Version)
		return nil
	case c.Version > 0 && c.Version <= held:
		// Applied already (this gateway's own write, or in a snapshot).
		// A store that went back is found by the version check.
		return nil
	case !c.Resync:
		g.log.Info("gap in route versions; loading a snapshot", "served_version", held, "change_version", c.Version)
	}
	return g.syncLocked(ctx)
}

// catchUp returns once this gateway serves the store's current version
// (or a later one), so that a caller of the admin API reads its own write
// here; the watcher applies the change when it is published. Without a
// watcher (a gateway not serving), or when the change does not arrive in
// time, it loads a snapshot.
func (g *Gateway) catchUp(ctx context.Context) error {
	ver, err := g.store.Version(ctx)
	if err != nil {
		return err
	}
	if g.watching.Load() {
		deadline := time.NewTimer(catchUpWait)
		defer deadline.Stop()
		for {
			g.advancedMu.Lock()
			if g.advanced == nil {
				g.advanced = make(chan struct{})
			}
			advanced := g.advanced
			g.advancedMu.Unlock()
			if g.version.Load() >= ver {
				return nil
			}
			select {
			case <-advanced:
				continue
			case <-deadline.C:
			case <-ctx.Done():
				return ctx.Err()
			}
			break
		}
	}
	g.reload.Lock()
	defer g.reload.Unlock()
	if g.version.Load() >= ver {
		return nil
	}
	return g.syncLocked(ctx)
}

// catchUpWait is how long an admin write waits for its change to come
// back on the watch before loading a snapshot.
const catchUpWait = 2 * time.Second

// reseed answers a store whose table (version ver) is older than the one
// served (tab), or of another epoch: it writes back FNGATE_ROUTES when
// configured, else the table this gateway serves (beside the routes the
// store holds), at a version above held (an idempotent
// step: when several gateways do it at once, one wins). The table served
// stays until the store is ahead of it again.
func (g *Gateway) reseed(ctx context.Context, ver, held int64, tab *route.Table) error {
	g.metrics.storeBehind.Set(1)
	seed, from := g.cfg.SeedRoutes, "FNGATE_ROUTES"
	if len(seed) == 0 && g.cfg.LoadSeedRoutes != nil {
		var err error
		if seed, err = g.cfg.LoadSeedRoutes(); err != nil {
			g.log.Error("routes to write back cannot be read; writing back the table served", "err", err)
		}
	}
	if len(seed) == 0 {
		seed, from = tab.Routes(), "the table this gateway serves"
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
		return fmt.Errorf("gateway: copy routes: %w", err)
	}
	if _, err := g.store.Seed(ctx, copied, held); err != nil {
		return fmt.Errorf("gateway: write routes back: %w", err)
	}
	g.metrics.reseeds.Inc()
	return nil
}

// watchRoutes applies every published change and checks the version
// every RoutesResync, so a missed message (or a Redis restart) heals.
// While Redis is unreachable the last table keeps serving.
func (g *Gateway) watchRoutes(ctx context.Context) {
	changes := g.store.Changes(ctx)
	g.watching.Store(true)
	defer g.watching.Store(false)
	tick := time.NewTicker(g.cfg.RoutesResync)
	defer tick.Stop()
	failing := false
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case c := <-changes:
			err = g.applyChange(ctx, c)
		case <-tick.C:
			var moved bool
			if moved, err = g.storeMoved(ctx); moved {
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
