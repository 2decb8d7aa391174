package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/record"
)

// Idempotency stores idempotency keys: claims while the first request
// runs, then the response it got, for TTL.
type Idempotency struct {
	rdb   redis.UniversalClient
	ttl   time.Duration
	batch *batcher // claims and completions are group-committed
}

// DefaultIdempotencyTTL is how long the response of an idempotency key
// is kept unless configured (FNGATE_IDEMPOTENCY_TTL).
const DefaultIdempotencyTTL = 24 * time.Hour

// NewIdempotency returns a key store keeping responses for ttl (default
// DefaultIdempotencyTTL). Call Close to stop its batcher.
func NewIdempotency(rdb redis.UniversalClient, ttl time.Duration) *Idempotency {
	if ttl <= 0 {
		ttl = DefaultIdempotencyTTL
	}
	return &Idempotency{rdb: rdb, ttl: ttl, batch: newBatcher(rdb, 0, nil)}
}

// Close stops the batcher.
func (s *Idempotency) Close() { s.batch.close() }

// A key's value is one string, "state\nfingerprint\nstatus\nheaders\nbody",
// so that claiming is one plain SET NX GET (no script) and completing one
// SET XX.

func encodeIdem(state, fp string, status int, headerJSON []byte, body []byte) string {
	var b strings.Builder
	b.Grow(len(state) + len(fp) + len(headerJSON) + len(body) + 16)
	b.WriteString(state)
	b.WriteByte('\n')
	b.WriteString(fp)
	b.WriteByte('\n')
	if status != 0 {
		b.WriteString(strconv.Itoa(status))
	}
	b.WriteByte('\n')
	b.Write(headerJSON)
	b.WriteByte('\n')
	b.Write(body)
	return b.String()
}

func decodeIdem(v string) *record.Idempotency {
	parts := strings.SplitN(v, "\n", 5)
	for len(parts) < 5 {
		parts = append(parts, "")
	}
	rec := &record.Idempotency{State: parts[0], Fingerprint: parts[1], Body: []byte(parts[4])}
	rec.Status, _ = strconv.Atoi(parts[2])
	if parts[3] != "" {
		_ = json.Unmarshal([]byte(parts[3]), &rec.Header)
	}
	return rec
}

// Claim takes the key for a request with fingerprint fp, holding it for
// lease (the request's deadline plus a margin, so a crashed gateway cannot
// hold it forever). It returns nil when the caller now owns the key, or the
// record of whoever claimed it first.
func (s *Idempotency) Claim(ctx context.Context, routeID, scope, fp string, lease time.Duration) (*record.Idempotency, error) {
	var cmd *redis.StatusCmd
	err := s.batch.do(ctx, func(p redis.Pipeliner) {
		cmd = p.SetArgs(ctx, keyIdempotency(routeID, scope), encodeIdem(record.IdemRunning, fp, 0, nil, nil), redis.SetArgs{Mode: "NX", Get: true, TTL: lease})
	})
	if err == nil {
		err = cmd.Err()
	}
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil // it was free: ours now
	case err != nil:
		return nil, fmt.Errorf("store: claim idempotency key: %w", err)
	}
	return decodeIdem(cmd.Val()), nil
}

// Complete stores the response of the request that claimed the key, for
// the TTL. (A claim that outlived its lease may have been taken again by
// the same request, fingerprint and all; the last completion wins.)
func (s *Idempotency) Complete(ctx context.Context, routeID, scope, fp string, status int, h http.Header, body []byte) error {
	hb, _ := json.Marshal(h)
	var cmd *redis.StatusCmd
	err := s.batch.do(ctx, func(p redis.Pipeliner) {
		cmd = p.SetArgs(ctx, keyIdempotency(routeID, scope), encodeIdem(record.IdemDone, fp, status, hb, body), redis.SetArgs{Mode: "XX", TTL: s.ttl})
	})
	if err == nil {
		err = cmd.Err()
	}
	switch {
	case errors.Is(err, redis.Nil):
		return record.ErrIdemLost
	case err != nil:
		return fmt.Errorf("store: complete idempotency key: %w", err)
	}
	return nil
}

var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Release frees a running claim whose request failed on the gateway's side
// (no worker, timeout), so that the client's retry runs.
func (s *Idempotency) Release(ctx context.Context, routeID, scope, fp string) error {
	running := encodeIdem(record.IdemRunning, fp, 0, nil, nil)
	if err := releaseScript.Run(ctx, s.rdb, []string{keyIdempotency(routeID, scope)}, running).Err(); err != nil {
		return fmt.Errorf("store: release idempotency key: %w", err)
	}
	return nil
}
