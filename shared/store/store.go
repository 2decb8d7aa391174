package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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

var (
	createScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -1 end
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], v)
return v`)
	replaceScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
if ARGV[1] ~= ARGV[2] then
  if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return -2 end
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[4], v)
return v`)
	deleteScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], v)
return v`)
	putScript = redis.NewScript(`
for i = 1, #ARGV - 1, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[#ARGV], v)
return v`)
	// ARGV: above, id, route, id, route, ..., channel.
	seedScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local above = tonumber(ARGV[1])
if cur > above then return cur end
for i = 2, #ARGV - 1, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
redis.call('SET', KEYS[2], above + 1)
redis.call('PUBLISH', ARGV[#ARGV], above + 1)
return above + 1`)
)

var keys = []string{keyRoutes, keyRoutesVersion}

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

// Put creates or overwrites each route (by domain and path) in one atomic
// step, leaving other routes alone. Applying a routes file uses it.
func (s *Routes) Put(ctx context.Context, rs []route.Route) error {
	if len(rs) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(rs)+1)
	for i := range rs {
		data, err := encode(&rs[i])
		if err != nil {
			return fmt.Errorf("routes[%d]: %w", i, err)
		}
		args = append(args, rs[i].ID, data)
	}
	args = append(args, ChannelRoutes)
	if err := putScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("store: put routes: %w", err)
	}
	return nil
}

// Seed writes rs back into a store that lost its table: unless the version
// is already above above (someone seeded first), it creates or overwrites
// each route as Put does and sets the version to above+1, so that gateways
// holding a table of version above take the seeded one. Gateways that find
// the store emptied at the same time may all call it: the first one wins
// and the others change nothing. It returns the version afterwards.
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
	var r route.Route
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return nil, fmt.Errorf("store: route %s: %w", id, err)
	}
	return &r, r.Normalize()
}

// Snapshot returns every route and the version they belong to, read in one
// transaction. Entries that no longer decode or validate are logged and left
// out rather than failing the whole table.
func (s *Routes) Snapshot(ctx context.Context) ([]route.Route, int64, error) {
	var all *redis.MapStringStringCmd
	var ver *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, keyRoutes)
		ver = p.Get(ctx, keyRoutesVersion)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("store: snapshot: %w", err)
	}
	v, _ := strconv.ParseInt(ver.Val(), 10, 64)
	rs := make([]route.Route, 0, len(all.Val()))
	for id, data := range all.Val() {
		var r route.Route
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			slog.Warn("store: skipping undecodable route", "id", id, "err", err)
			continue
		}
		if err := r.Normalize(); err != nil || r.ID != id {
			slog.Warn("store: skipping invalid route", "id", id, "err", err)
			continue
		}
		rs = append(rs, r)
	}
	return rs, v, nil
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

// Changes returns a channel that receives a value after each change made by
// any gateway, until ctx ends. Notifications are coalesced: a slow reader
// sees one value for several changes. The channel also receives a value as
// soon as the subscription is in place, so a reader that loads the table
// then misses no change made before it subscribed. go-redis resubscribes
// after a lost connection; changes missed meanwhile are caught by a version
// check.
func (s *Routes) Changes(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	ps := s.rdb.Subscribe(ctx, ChannelRoutes)
	go func() {
		defer ps.Close()
		// The first reply confirms the subscription (when Redis answers;
		// otherwise Channel below keeps trying).
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, _ = ps.Receive(rctx)
		cancel()
		out <- struct{}{}
		in := ps.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}
