package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Idempotency key states.
const (
	IdemRunning = "running" // claimed; the first request is still running
	IdemDone    = "done"    // the stored response can be replayed
)

// IdemRecord is what a claimed idempotency key holds.
type IdemRecord struct {
	State       string
	Fingerprint string
	Status      int
	Header      http.Header
	Body        []byte
}

// Idempotency stores idempotency keys: claims while the first request
// runs, then the response it got, for TTL.
type Idempotency struct {
	rdb   redis.UniversalClient
	ttl   time.Duration
	batch *batcher // claims and completions are group-committed
}

// NewIdempotency returns a key store keeping responses for ttl (default
// 24h). Call Close to stop its batcher.
func NewIdempotency(rdb redis.UniversalClient, ttl time.Duration) *Idempotency {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &Idempotency{rdb: rdb, ttl: ttl, batch: newBatcher(rdb, 0, nil)}
}

// Close stops the batcher.
func (s *Idempotency) Close() { s.batch.close() }

// eval runs a script by its SHA through the batcher. In a pipeline
// go-redis cannot fall back to EVAL, so a NOSCRIPT answer (Redis restarted
// and lost its script cache) is retried here with Run, which loads it.
func (s *Idempotency) eval(ctx context.Context, sc *redis.Script, key string, args ...any) *redis.Cmd {
	var cmd *redis.Cmd
	if err := s.batch.do(ctx, func(p redis.Pipeliner) { cmd = sc.EvalSha(ctx, p, []string{key}, args...) }); err != nil {
		cmd = redis.NewCmd(ctx)
		cmd.SetErr(err)
		return cmd
	}
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		return sc.Run(ctx, s.rdb, []string{key}, args...)
	}
	return cmd
}

// TTL returns how long completed keys are kept.
func (s *Idempotency) TTL() time.Duration { return s.ttl }

var claimScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'state', 'fp', 'status', 'header', 'body')
if st[1] then return st end
redis.call('HSET', KEYS[1], 'state', 'running', 'fp', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {}`)

// Claim takes the key for a request with fingerprint fp, holding it for
// lease (the request's deadline plus a margin, so a crashed gateway cannot
// hold it forever). It returns nil when the caller now owns the key, or the
// record of whoever claimed it first.
func (s *Idempotency) Claim(ctx context.Context, routeID, scope, fp string, lease time.Duration) (*IdemRecord, error) {
	v, err := s.eval(ctx, claimScript, keyIdempotency(routeID, scope), fp, lease.Milliseconds()).Slice()
	if err != nil {
		return nil, fmt.Errorf("store: claim idempotency key: %w", err)
	}
	if len(v) == 0 {
		return nil, nil
	}
	str := func(i int) string {
		s, _ := v[i].(string)
		return s
	}
	rec := &IdemRecord{State: str(0), Fingerprint: str(1), Body: []byte(str(4))}
	rec.Status, _ = strconv.Atoi(str(2))
	if h := str(3); h != "" {
		_ = json.Unmarshal([]byte(h), &rec.Header)
	}
	return rec, nil
}

var completeScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[2], 'header', ARGV[3], 'body', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`)

// ErrIdemLost reports a completion for a key that expired or was claimed
// again meanwhile.
var ErrIdemLost = errors.New("idempotency key no longer held")

// Complete stores the response of the request that claimed the key, for
// the TTL.
func (s *Idempotency) Complete(ctx context.Context, routeID, scope, fp string, status int, h http.Header, body []byte) error {
	hb, _ := json.Marshal(h)
	n, err := s.eval(ctx, completeScript, keyIdempotency(routeID, scope), fp, status, hb, body, s.ttl.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("store: complete idempotency key: %w", err)
	}
	if n == 0 {
		return ErrIdemLost
	}
	return nil
}

var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'state') == 'running' and redis.call('HGET', KEYS[1], 'fp') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Release frees a running claim whose request failed on the gateway's side
// (no worker, timeout), so that the client's retry runs.
func (s *Idempotency) Release(ctx context.Context, routeID, scope, fp string) error {
	if err := releaseScript.Run(ctx, s.rdb, []string{keyIdempotency(routeID, scope)}, fp).Err(); err != nil {
		return fmt.Errorf("store: release idempotency key: %w", err)
	}
	return nil
}
