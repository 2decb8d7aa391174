package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/route"
)

// Routes is the Redis-backed route table.
type Routes struct {
	rdb redis.UniversalClient
}

// NewRoutes returns a route store on rdb.
func NewRoutes(rdb redis.UniversalClient) *Routes { return &Routes{rdb: rdb} }

// Each change publishes on ChannelRoutes what it changed with the version
// it made, as JSON (a route.Change): the routes set and the routes deleted,
// each as stored, so that a gateway applies it without reading the table.
// A change too large to describe (more than ARGV maxInline routes), and a
// seed, publish {"v":N,"resync":true}: load a snapshot.
var (
	createScript = redis.NewScript(bumpLua + `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -1 end
local v, e = bump()
redis.call('PUBLISH', ARGV[3], '{"v":' .. v .. ',"e":"' .. e .. '","set":[' .. ARGV[2] .. ']}')
return v`)
	replaceScript = redis.NewScript(bumpLua + `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return -1 end
local del = ''
if ARGV[1] ~= ARGV[2] then
  if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return -2 end
  redis.call('HDEL', KEYS[1], ARGV[1])
  del = old
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
local v, e = bump()
redis.call('PUBLISH', ARGV[4], '{"v":' .. v .. ',"e":"' .. e .. '","set":[' .. ARGV[3] .. '],"del":[' .. del .. ']}')
return v`)
	deleteScript = redis.NewScript(bumpLua + `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
local v, e = bump()
redis.call('PUBLISH', ARGV[2], '{"v":' .. v .. ',"e":"' .. e .. '","del":[' .. old .. ']}')
return v`)
	// ARGV: channel, maxInline, number of routes set n, then n pairs of
	// id and route, then the ids to delete. Nothing changed: nothing
	// published, the version stays (returned).
	changeScript = redis.NewScript(bumpLua + `
local n = tonumber(ARGV[3])
local set, del = {}, {}
for i = 4, 3 + 2 * n, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i+1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])
    set[#set+1] = ARGV[i+1]
  end
end
for i = 4 + 2 * n, #ARGV do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if old then
    redis.call('HDEL', KEYS[1], ARGV[i])
    del[#del+1] = old
  end
end
if #set == 0 and #del == 0 then return tonumber(redis.call('GET', KEYS[2]) or '0') end
local v, e = bump()
if #set + #del > tonumber(ARGV[2]) then
  redis.call('PUBLISH', ARGV[1], '{"v":' .. v .. ',"e":"' .. e .. '","resync":true}')
else
  redis.call('PUBLISH', ARGV[1], '{"v":' .. v .. ',"e":"' .. e .. '","set":[' .. table.concat(set, ',') .. '],"del":[' .. table.concat(del, ',') .. ']}')
end
return v`)
	// ARGV: above, id, route, id, route, ..., channel.
	seedScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local above = tonumber(ARGV[1])
if cur > above then return cur end
local changed = 0
for i = 2, #ARGV - 1, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i+1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])
    changed = changed + 1
  end
end
if changed == 0 and cur >= above then return cur end
if redis.call('EXISTS', KEYS[3]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[3], t[1] .. string.format('%06d', tonumber(t[2])))
end
redis.call('SET', KEYS[2], above + 1)
redis.call('PUBLISH', ARGV[#ARGV], '{"v":' .. (above + 1) .. ',"resync":true}')
return above + 1`)
)

// Sizes of the steps a large change or snapshot is cut into.
const (
	// changeBatch routes are written by one script run (one version):
	// Redis serves nobody else while a script runs.
	changeBatch = 1000
	// maxInline routes are described in a change message; a larger change
	// asks gateways to load a snapshot.
	maxInline = changeBatch
	// scanPage is the COUNT of each HSCAN of a snapshot.
	scanPage = 2000
)

var keys = []string{keyRoutes, keyRoutesVersion, keyRoutesEpoch}

// bumpLua defines bump() for the scripts that change the table: it raises
// the version, and when there was none (a new table, or one Redis lost)
// it starts a new epoch (KEYS[3]); it returns both, and each change
// message carries the epoch ("e").
const bumpLua = `local function bump()
  if redis.call('EXISTS', KEYS[2]) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', KEYS[3], t[1] .. string.format('%06d', tonumber(t[2])))
  end
  return redis.call('INCR', KEYS[2]), redis.call('GET', KEYS[3])
end
`

func encode(r *route.Route) (string, error) {
	if err := r.Normalize(); err != nil {
		return "", err
	}
	b, err := json.Marshal(r)
	return string(b), err
}

// Create adds r, normalising it first. It fails with route.ErrConflict when a route
// with the same domain and path exists, or with a *route.FieldError.
func (s *Routes) Create(ctx context.Context, r *route.Route) error {
	data, err := encode(r)
	if err != nil {
		return err
	}
	n, err := createScript.Run(ctx, s.rdb, keys, r.ID, data, ChannelRoutes).Int64()
	if err != nil {
		return fmt.Errorf("store: create route: %w", err)
	}
	if n == -1 {
		return route.ErrConflict
	}
	return nil
}

// Replace swaps the route id for r, which may change its domain and path.
func (s *Routes) Replace(ctx context.Context, id string, r *route.Route) error {
	data, err := encode(r)
	if err != nil {
		return err
	}
	n, err := replaceScript.Run(ctx, s.rdb, keys, id, r.ID, data, ChannelRoutes).Int64()
	if err != nil {
		return fmt.Errorf("store: replace route: %w", err)
	}
	switch n {
	case -1:
		return route.ErrNotFound
	case -2:
		return route.ErrConflict
	}
	return nil
}

// Put creates or overwrites each route (by domain and path), leaving other
// routes alone; a route stored as it is already is not written. Applying a
// routes file uses it. Every route is validated before anything is
// written; the routes are then written in batches of changeBatch, each one
// change (one version) of its own, and a batch that changes nothing raises
// no version and publishes nothing.
func (s *Routes) Put(ctx context.Context, rs []route.Route) error {
	_, err := s.Apply(ctx, rs, nil)
	return err
}

// Apply sets the routes set (as Put) and deletes the routes with the ids
// del, in batches of changeBatch, and returns the version afterwards.
func (s *Routes) Apply(ctx context.Context, set []route.Route, del []string) (int64, error) {
	ver, _, err := s.apply(ctx, set, del)
	return ver, err
}

// apply is Apply; it also returns how many batches it wrote (each one
// version, unless a batch found its routes written meanwhile).
func (s *Routes) apply(ctx context.Context, set []route.Route, del []string) (int64, int, error) {
	data := make([]string, len(set))
	for i := range set {
		var err error
		if data[i], err = encode(&set[i]); err != nil {
			return 0, 0, fmt.Errorf("routes[%d]: %w", i, err)
		}
	}
	set, data, err := s.changed(ctx, set, data)
	if err != nil {
		return 0, 0, fmt.Errorf("store: apply routes: %w", err)
	}
	batches := 0
	ver, err := s.Version(ctx)
	for i := 0; err == nil && (i < len(set) || i-len(set) < len(del)); i += changeBatch {
		args := make([]any, 0, 3+2*changeBatch)
		args = append(args, ChannelRoutes, maxInline, 0)
		n := 0
		for j := i; j < min(i+changeBatch, len(set)); j++ {
			args = append(args, set[j].ID, data[j])
			n++
		}
		args[2] = n
		for j := max(i, len(set)); j < min(i+changeBatch, len(set)+len(del)); j++ {
			args = append(args, del[j-len(set)])
		}
		ver, err = changeScript.Run(ctx, s.rdb, keys, args...).Int64()
		batches++
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: apply routes: %w", err)
	}
	return ver, batches, nil
}

// changed keeps the routes of set (encoded as data) that the store does
// not hold as they are, reading the stored ones in pipelined pages: an
// unchanged routes file of 100,000 routes costs reads, no writes, and no
// version.
func (s *Routes) changed(ctx context.Context, set []route.Route, data []string) ([]route.Route, []string, error) {
	cmds := make([]*redis.SliceCmd, 0, (len(set)+changeBatch-1)/changeBatch)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < len(set); i += changeBatch {
			ids := make([]string, 0, changeBatch)
			for j := i; j < min(i+changeBatch, len(set)); j++ {
				ids = append(ids, set[j].ID)
			}
			cmds = append(cmds, p.HMGet(ctx, keyRoutes, ids...))
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var keepSet []route.Route
	var keepData []string
	for c, cmd := range cmds {
		for k, v := range cmd.Val() {
			if i := c*changeBatch + k; v != data[i] {
				keepSet, keepData = append(keepSet, set[i]), append(keepData, data[i])
			}
		}
	}
	return keepSet, keepData, nil
}

// Seed writes rs back into a store that lost its table: unless the version
// is already above above (someone seeded first), it creates or overwrites
// each route as Put does and sets the version to above+1, so that gateways
// holding a table of version above take the seeded one. Gateways that find
// the store emptied at the same time may all call it: the first one wins
// and the others change nothing; so does a seed at the store's version
// whose routes are all there already (another gateway wrote them back in
// a table of a new epoch). It returns the version afterwards.
func (s *Routes) Seed(ctx context.Context, rs []route.Route, above int64) (int64, error) {
	args := make([]any, 0, 2*len(rs)+2)
	args = append(args, above)
	for i := range rs {
		data, err := encode(&rs[i])
		if err != nil {
			return 0, fmt.Errorf("routes[%d]: %w", i, err)
		}
		args = append(args, rs[i].ID, data)
	}
	args = append(args, ChannelRoutes)
	v, err := seedScript.Run(ctx, s.rdb, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("store: seed routes: %w", err)
	}
	return v, nil
}

// Delete removes the route id.
func (s *Routes) Delete(ctx context.Context, id string) error {
	n, err := deleteScript.Run(ctx, s.rdb, keys, id, ChannelRoutes).Int64()
	if err != nil {
		return fmt.Errorf("store: delete route: %w", err)
	}
	if n == -1 {
		return route.ErrNotFound
	}
	return nil
}

// Get returns the route id.
func (s *Routes) Get(ctx context.Context, id string) (*route.Route, error) {
	data, err := s.rdb.HGet(ctx, keyRoutes, id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, route.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get route: %w", err)
	}
	r, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("store: route %s: %w", id, err)
	}
	return &r, nil
}

// Snapshot returns every route and the version of the table, as Scan.
func (s *Routes) Snapshot(ctx context.Context) ([]route.Route, int64, error) {
	var rs []route.Route
	v, err := s.Scan(ctx, func(page []route.Route) error {
		rs = append(rs, page...)
		return nil
	})
	return rs, v, err
}

// Scan reads the whole table a page at a time (HSCAN), passing each page
// of routes to fn, and returns the version read before the first page:
// the table is never held whole, as JSON or otherwise. A scan is not one
// transaction: a change made while it runs may show in it or not, but it
// raised the version past the one returned, so a reader that then applies
// the changes after that version, in order, holds the table of the last
// one (each change sets or deletes whole routes). Entries that no longer
// decode or validate are logged and left out rather than failing the
// whole table.
func (s *Routes) Scan(ctx context.Context, fn func(page []route.Route) error) (int64, error) {
	v, err := s.Version(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: snapshot: %w", err)
	}
	// Pages are fetched one after another (a cursor each) while earlier
	// ones are decoded, on as many cores as there are; fn sees one page at
	// a time, in no particular order.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type page struct {
		kv  []string
		rs  []route.Route
		err error
	}
	fetched, decoded := make(chan page, 2), make(chan page, 2)
	go func() {
		defer close(fetched)
		var cursor uint64
		for {
			kv, next, err := s.rdb.HScan(ctx, keyRoutes, cursor, "", scanPage).Result()
			select {
			case fetched <- page{kv: kv, err: err}:
			case <-ctx.Done():
				return
			}
			if cursor = next; err != nil || cursor == 0 {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), 4)) {
		wg.Go(func() {
			for p := range fetched {
				p.rs = make([]route.Route, 0, len(p.kv)/2)
				for i := 0; i+1 < len(p.kv); i += 2 {
					r, err := decode(p.kv[i+1])
					if err != nil || r.ID != p.kv[i] {
						slog.Warn("store: skipping invalid route", "id", p.kv[i], "err", err)
						continue
					}
					p.rs = append(p.rs, r)
				}
				p.kv = nil
				select {
				case decoded <- p:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(decoded) }()
	for p := range decoded {
		if p.err != nil {
			return 0, fmt.Errorf("store: snapshot: %w", p.err)
		}
		if len(p.rs) > 0 {
			if err := fn(p.rs); err != nil {
				return 0, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: snapshot: %w", err)
	}
	return v, nil
}

// Version returns the current route table version (0 for an empty store).
func (s *Routes) Version(ctx context.Context) (int64, error) {
	v, err := s.rdb.Get(ctx, keyRoutesVersion).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: version: %w", err)
	}
	return v, nil
}

// Epoch names the life of the table (see keyRoutesEpoch): "" before the
// first change. A gateway that served a table of another epoch knows that
// Redis lost it, even at a version it served.
func (s *Routes) Epoch(ctx context.Context) (string, error) {
	e, err := s.rdb.Get(ctx, keyRoutesEpoch).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: epoch: %w", err)
	}
	return e, nil
}

// Changes returns a channel that receives each change made by any
// gateway, in order, until ctx ends. It first receives a change with
// Resync set and no version as soon as the subscription is in place (and
// again whenever go-redis has resubscribed after a lost connection;
// Subscribed is set on those), so
// that a reader compares versions then and misses nothing made before:
// pub/sub keeps no messages for a subscriber that was away. A message
// that does not decode is passed on as a Resync at its version.
func (s *Routes) Changes(ctx context.Context) <-chan route.Change {
	out := make(chan route.Change, 64)
	ps := s.rdb.Subscribe(ctx, ChannelRoutes)
	go func() {
		defer ps.Close()
		// The first reply confirms the subscription (when Redis answers;
		// otherwise the channel below keeps trying and reports it).
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, _ = ps.Receive(rctx)
		cancel()
		select {
		case out <- route.Change{Resync: true, Subscribed: true}:
		case <-ctx.Done():
			return
		}
		in := ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
		for {
			var ch route.Change
			select {
			case <-ctx.Done():
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				switch m := m.(type) {
				case *redis.Subscription:
					ch = route.Change{Resync: true, Subscribed: true}
				case *redis.Message:
					ch = route.DecodeChange(m.Payload)
				default:
					continue
				}
			}
			select {
			case out <- ch:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
