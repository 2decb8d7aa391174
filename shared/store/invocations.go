package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/record"
)

// Invocations stores invocation records with a TTL.
type Invocations struct {
	rdb redis.UniversalClient
	ttl time.Duration

	// New records are group-committed (see batcher); every 10s the
	// batcher also drops index entries older than the TTL.
	batch   *batcher
	mu      sync.Mutex
	touched map[string]bool
}

// DefaultRecordTTL is how long an invocation record is kept after its
// last change unless configured (FNGATE_RECORD_TTL).
const DefaultRecordTTL = 7 * 24 * time.Hour

// NewInvocations returns a record store; records expire ttl after their
// last change (default DefaultRecordTTL). Call Close to stop its batcher.
func NewInvocations(rdb redis.UniversalClient, ttl time.Duration) *Invocations {
	if ttl <= 0 {
		ttl = DefaultRecordTTL
	}
	s := &Invocations{rdb: rdb, ttl: ttl, touched: map[string]bool{}}
	s.batch = newBatcher(rdb, 10*time.Second, s.trim)
	return s
}

// Close stops the batcher; CreateNew fails afterwards.
func (s *Invocations) Close() { s.batch.close() }

// CreateNew stores the record and event of a new invocation whose id is
// fresh from NewInvocationID, so no existence check is needed. Concurrent
// calls share one Redis round trip.
func (s *Invocations) CreateNew(ctx context.Context, inv *record.Invocation, event []byte) error {
	var hset *redis.IntCmd
	err := s.batch.do(ctx, func(p redis.Pipeliner) {
		hset = p.HSet(ctx, keyInvocation(inv.ID), s.fields(inv, event)...)
		p.PExpire(ctx, keyInvocation(inv.ID), s.ttl)
		s.index(ctx, p, inv)
	})
	if err == nil {
		err = hset.Err()
	}
	if err != nil {
		return fmt.Errorf("store: create invocation: %w", err)
	}
	return nil
}

// touch has the next trim look at fn's index.
func (s *Invocations) touch(fn string) {
	s.mu.Lock()
	s.touched[fn] = true
	s.mu.Unlock()
}

// trim drops index entries older than the TTL: their records are gone.
func (s *Invocations) trim() {
	s.mu.Lock()
	fns := s.touched
	s.touched = map[string]bool{}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	old := "(" + strconv.FormatInt(time.Now().Add(-s.ttl).UnixMilli(), 10)
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, keyInvocationsByTime, "-inf", old)
		for fn := range fns {
			p.ZRemRangeByScore(ctx, keyInvocationsByFunction(fn), "-inf", old)
		}
		return nil
	})
}

// fields returns the hash fields of a new record.
func (s *Invocations) fields(inv *record.Invocation, event []byte) []any {
	return s.appendFields(make([]any, 0, 32), inv, event)
}

// appendFields appends the hash fields of a new record to fields. Its
// updatedAt is its creation unless inv says later.
func (s *Invocations) appendFields(fields []any, inv *record.Invocation, event []byte) []any {
	now := inv.CreatedAt
	if now.IsZero() {
		now = time.Now()
		inv.CreatedAt = now
	}
	if inv.UpdatedAt.Before(now) {
		inv.UpdatedAt = now
	}
	if inv.Status == "" {
		inv.Status = record.StatusQueued
	}
	created := stamp(now)
	updated := created
	if !inv.UpdatedAt.Equal(now) {
		updated = stamp(inv.UpdatedAt)
	}
	fields = append(fields,
		"event", event,
		"id", inv.ID, "function", inv.Function, "mode", inv.Mode, "status", inv.Status,
		"attempts", inv.Attempts, "maxAttempts", inv.MaxAttempts,
		"createdAt", created, "updatedAt", updated,
	)
	if inv.Edited {
		fields = append(fields, "edited", "1")
	}
	if inv.LeaseUntil != nil {
		fields = append(fields, "leaseUntil", inv.LeaseUntil.UnixMilli())
	}
	for _, f := range [...]struct{ k, v string }{{"replayOf", inv.ReplayOf}, {"callbackUrl", inv.CallbackURL}, {"errorCode", inv.ErrorCode}, {"error", inv.Error}, {"route", string(inv.Route)}, {"trigger", inv.Trigger}} {
		if f.v != "" {
			fields = append(fields, f.k, f.v)
		}
	}
	if inv.Result != nil {
		b, _ := json.Marshal(inv.Result)
		fields = append(fields, "result", string(b))
	}
	return fields
}

// index adds inv to the listings' indexes; the function's is trimmed by
// the next trim.
func (s *Invocations) index(ctx context.Context, p redis.Pipeliner, inv *record.Invocation) {
	s.touch(inv.Function)
	score := float64(inv.CreatedAt.UnixMilli())
	p.ZAdd(ctx, keyInvocationsByTime, redis.Z{Score: score, Member: inv.ID})
	p.ZAdd(ctx, keyInvocationsByFunction(inv.Function), redis.Z{Score: score, Member: inv.ID})
}

var createInvocation = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`)

// Create stores a record and its event unless a record with that id
// exists, reporting whether it did. Replays use it: their ids are derived,
// so concurrent replays race for the same id.
func (s *Invocations) Create(ctx context.Context, inv *record.Invocation, event []byte) (bool, error) {
	args := append([]any{s.ttl.Milliseconds()}, s.fields(inv, event)...)
	var created *redis.Cmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		created = createInvocation.Eval(ctx, p, []string{keyInvocation(inv.ID)}, args...)
		s.index(ctx, p, inv)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: create invocation: %w", err)
	}
	n, _ := created.Int64()
	return n == 1, nil
}

// takeInvocation creates the record of a queued invocation if it has none
// (status queued, no attempt) and starts its next attempt, unless:
//   - it ended (cancelled included): returns its status, so a
//     redelivery is acknowledged;
//   - it was cancelled while an attempt ran (cancelRequested) and none
//     runs now: 'cancelled', no further attempt;
//   - an attempt runs under a live lease (its worker heartbeats): 'busy'
//     (a running record without attempts is a fallen-back call's, leased
//     by the gateway that answered 202 until a worker takes it),
//     and nothing is counted, so a redelivery cannot run it twice;
//   - the running attempt's lease lapsed (its worker died) and it was the
//     last: 'lost' (the lapsed attempt counts);
//   - its maxEventAge passed: 'expired'.
//
// A take repeated by the same taker (owner: one delivery to one worker),
// whose first try reached Redis but whose answer was lost, gets the
// attempt it started.
//
// ARGV: now (stamp), now (ms), lease end (ms), ttl (ms), maxAttempts,
// expiry (ms, 0 none), owner, then the fields of a new record that runs
// its first attempt. Almost every take is the first of an invocation
// without a record: that one is a single HSET (the script's redis.calls
// are most of Redis' CPU per invocation).
var takeInvocation = redis.NewScript(`
local now = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 8))
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  if ARGV[6] == '0' or now < tonumber(ARGV[6]) then return {'running', 1} end
  redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', 0)
  redis.call('HDEL', KEYS[1], 'startedAt', 'leaseUntil', 'owner')
  return {'expired', 0}
end
local r = redis.call('HMGET', KEYS[1], 'status', 'attempts')
local s = r[1]
local n = tonumber(r[2] or '0') or 0
if s == 'succeeded' or s == 'dead' or s == 'cancelled' then return {s, n} end
if redis.call('HEXISTS', KEYS[1], 'cancelRequested') == 1 and not (s == 'running' and tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0') > now) then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finishedAt', ARGV[1], 'updatedAt', ARGV[1])
  return {'cancelled', n}
end
if s == 'running' then
  if redis.call('HGET', KEYS[1], 'owner') == ARGV[7] then
    redis.call('HSET', KEYS[1], 'leaseUntil', ARGV[3])
    return {'running', n}
  end
  if n > 0 and tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0') > now then return {'busy', n} end
  if n >= tonumber(ARGV[5]) then return {'lost', n} end
end
if ARGV[6] ~= '0' and now >= tonumber(ARGV[6]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'expired', n}
end
n = n + 1
redis.call('HSET', KEYS[1], 'status', 'running', 'attempts', n, 'startedAt', ARGV[1], 'updatedAt', ARGV[1], 'leaseUntil', ARGV[3], 'owner', ARGV[7])
redis.call('HDEL', KEYS[1], 'nextAttemptAt')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {'running', n}`)

// Take is a worker taking queued invocation inv (its record as
// queue.Invocation builds it, with event as kept) to run its next
// attempt, holding it for lease; owner names this delivery to this
// worker, so that a retried Take is answered the same. It creates the record when there is none
// (the gateway writes none at accept) and reports the outcome (see
// takeInvocation) with the attempt number: the attempt to run for
// record.StatusRunning, else the attempts made. expires (zero: never) is
// when the invocation's maxEventAge ends.
func (s *Invocations) Take(ctx context.Context, inv *record.Invocation, event []byte, owner string, lease time.Duration, expires time.Time) (string, int, error) {
	now := time.Now()
	var exp int64
	if !expires.IsZero() {
		exp = expires.UnixMilli()
	}
	// Each value boxed once: a take's arguments are most of what a worker
	// allocates per invocation.
	at, until, by := any(stamp(now)), any(now.Add(lease).UnixMilli()), any(owner)
	args := make([]any, 0, 48)
	args = append(args, at, now.UnixMilli(), until, s.ttl.Milliseconds(), inv.MaxAttempts, exp, by)
	// The record as its first attempt starts it (see takeInvocation).
	first := *inv
	first.Status, first.Attempts, first.UpdatedAt = record.StatusRunning, 1, now
	args = append(s.appendFields(args, &first, event), "startedAt", at, "leaseUntil", until, "owner", by)
	// The same score every time: a no-op after the first take.
	score := float64(first.CreatedAt.UnixMilli())
	res, err := s.evalBatched(ctx, takeInvocation, []string{keyInvocation(inv.ID)}, args, []indexEntry{
		{keyInvocationsByTime, redis.Z{Score: score, Member: inv.ID}},
		{keyInvocationsByFunction(inv.Function), redis.Z{Score: score, Member: inv.ID}},
	})
	if err != nil {
		return "", 0, fmt.Errorf("store: take invocation: %w", err)
	}
	out, _ := res.Slice()
	if len(out) != 2 {
		return "", 0, fmt.Errorf("store: take invocation: unexpected answer %v", out)
	}
	st, _ := out[0].(string)
	n, _ := out[1].(int64)
	s.touch(inv.Function)
	return st, int(n), nil
}

// evalBatched runs script on key in the batcher's next round trip, with
// index's entries, so that concurrent workers share round trips. It
// sends the script by its digest (EVALSHA), and its text only when Redis
// does not know it yet (NOSCRIPT: first use, or a restarted Redis).
func (s *Invocations) evalBatched(ctx context.Context, script *redis.Script, keys []string, args []any, index []indexEntry) (*redis.Cmd, error) {
	for range 2 {
		// A fresh result each try: a try abandoned at ctx's end may still
		// be filled in by the batcher.
		var res *redis.Cmd
		err := s.batch.doIndexed(ctx, func(p redis.Pipeliner) {
			res = script.EvalSha(ctx, p, keys, args...)
		}, index)
		if err != nil {
			return nil, err
		}
		if err = res.Err(); err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return res, err
		}
		if err = script.Load(ctx, s.rdb).Err(); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("store: script not loaded")
}

var renewLease = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'status') ~= 'running' or redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'leaseUntil', ARGV[2])
if redis.call('HEXISTS', KEYS[1], 'cancelRequested') == 1 then return 2 end
return 1`)

// Renew extends the lease of running attempt to until; it returns
// record.ErrStale when the attempt is no longer the running one, and
// record.ErrCancelRequested (the lease extended all the same) when the
// invocation was cancelled while it runs.
func (s *Invocations) Renew(ctx context.Context, id string, attempt int, until time.Time) error {
	n, err := renewLease.Run(ctx, s.rdb, []string{keyInvocation(id)}, strconv.Itoa(attempt), until.UnixMilli()).Int64()
	switch {
	case err != nil:
		return fmt.Errorf("store: renew invocation %s: %w", id, err)
	case n == 0:
		return record.ErrStale
	case n == 2:
		return record.ErrCancelRequested
	}
	return nil
}

var transition = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'status', 'attempts')
local s = r[1]
if not s then return -1 end
if s == 'succeeded' or s == 'dead' or s == 'cancelled' then return 0 end
if ARGV[1] ~= '0' and r[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// Succeed records the answer of attempt.
func (s *Invocations) Succeed(ctx context.Context, id string, attempt int, res *record.Result) error {
	b, _ := json.Marshal(res)
	return s.transition(ctx, id, attempt, nil, "status", record.StatusSucceeded, "result", string(b), "finishedAt", stamp(time.Now()))
}

// AttemptFailed records a failed attempt and when the next one is due.
func (s *Invocations) AttemptFailed(ctx context.Context, id string, ae record.AttemptError, next time.Time) error {
	return s.transition(ctx, id, ae.Attempt, &ae, "status", record.StatusFailed, "errorCode", ae.Code, "error", ae.Error, "nextAttemptAt", stamp(next))
}

// Dead records the last failed attempt of an invocation sent to the
// dead-letter stream. An attempt of 0 skips the attempt check (a delivery
// past the last attempt, whose worker was lost).
func (s *Invocations) Dead(ctx context.Context, id string, ae record.AttemptError, attempt int) error {
	return s.transition(ctx, id, attempt, &ae, "status", record.StatusDead, "errorCode", ae.Code, "error", ae.Error, "finishedAt", stamp(time.Now()))
}

// transition applies fields when the record has not ended and attempt
// (unless 0) is still its current attempt.
func (s *Invocations) transition(ctx context.Context, id string, attempt int, ae *record.AttemptError, fields ...any) error {
	var errJSON []byte
	if ae != nil {
		errJSON, _ = json.Marshal(ae)
	}
	args := append([]any{strconv.Itoa(attempt), s.ttl.Milliseconds(), string(errJSON)}, append(fields, "updatedAt", stamp(time.Now()))...)
	var n int64
	res, err := s.evalBatched(ctx, transition, []string{keyInvocation(id), keyInvocationErrors(id)}, args, nil)
	if err == nil {
		n, err = res.Int64()
	}
	switch {
	case err != nil:
		return fmt.Errorf("store: update invocation %s: %w", id, err)
	case n == -1:
		return record.ErrInvocationNotFound
	case n == 0:
		return record.ErrStale
	}
	return nil
}

// SetCallback records the outcome of the callback delivery.
func (s *Invocations) SetCallback(ctx context.Context, id string, cs record.CallbackState) error {
	b, _ := json.Marshal(cs)
	return s.set(ctx, id, "callback", string(b))
}

func (s *Invocations) set(ctx context.Context, id string, fields ...any) error {
	fields = append(fields, "updatedAt", stamp(time.Now()))
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, keyInvocation(id), fields...)
		p.PExpire(ctx, keyInvocation(id), s.ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: update invocation %s: %w", id, err)
	}
	return nil
}

// Get returns a record with its attempt errors.
func (s *Invocations) Get(ctx context.Context, id string) (*record.Invocation, error) {
	invs, err := s.getMany(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(invs) == 0 {
		return nil, record.ErrInvocationNotFound
	}
	return invs[0], nil
}

// Event returns the event an invocation was called with.
func (s *Invocations) Event(ctx context.Context, id string) ([]byte, error) {
	b, err := s.rdb.HGet(ctx, keyInvocation(id), "event").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, record.ErrInvocationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: invocation event: %w", err)
	}
	return b, nil
}

// ReplayCreated notes on id's record that replayID replays it.
func (s *Invocations) ReplayCreated(ctx context.Context, id, replayID string) error {
	return setIfExists.Run(ctx, s.rdb, []string{keyInvocation(id)}, "lastReplay", replayID).Err()
}

// setIfExists sets a field of a record that still exists: a bare HSET on
// an expired record would make a key without a TTL.
var setIfExists = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0`)

// List returns records matching f, newest first, a page at a time. The
// cursor pins the newest score of the first page and counts index entries
// read since, so records created meanwhile never shift a listing and ties
// in creation time are not skipped.
func (s *Invocations) List(ctx context.Context, f record.Filter) (*record.Page, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	key := keyInvocationsByTime
	if f.Function != "" {
		key = keyInvocationsByFunction(f.Function)
	}
	top := time.Now().UnixMilli()
	if !f.Until.IsZero() {
		top = min(top, f.Until.UnixMilli()-1)
	}
	var offset int64
	if f.Cursor != "" {
		if _, err := fmt.Sscanf(f.Cursor, "%d.%d", &top, &offset); err != nil || offset < 0 {
			return nil, fmt.Errorf("store: bad cursor %q", f.Cursor)
		}
	}
	low := "-inf"
	if !f.Since.IsZero() {
		low = strconv.FormatInt(f.Since.UnixMilli(), 10)
	}
	page := &record.Page{Invocations: []*record.Invocation{}}
	batch := int64(f.Limit * 2)
	for {
		ids, err := s.rdb.ZRevRangeByScore(ctx, key, &redis.ZRangeBy{
			Max: strconv.FormatInt(top, 10), Min: low, Offset: offset, Count: batch,
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("store: list invocations: %w", err)
		}
		if len(ids) == 0 {
			return page, nil
		}
		invs, err := s.getMany(ctx, ids)
		if err != nil {
			return nil, err
		}
		byID := make(map[string]*record.Invocation, len(invs))
		for _, inv := range invs {
			byID[inv.ID] = inv
		}
		for _, id := range ids {
			offset++
			inv := byID[id]
			if inv == nil || (f.Status != "" && inv.Status != f.Status) {
				continue
			}
			page.Invocations = append(page.Invocations, inv)
			if len(page.Invocations) == f.Limit {
				page.NextCursor = fmt.Sprintf("%d.%d", top, offset)
				return page, nil
			}
		}
	}
}

func (s *Invocations) getMany(ctx context.Context, ids []string) ([]*record.Invocation, error) {
	hs := make([]*redis.SliceCmd, len(ids))
	errs := make([]*redis.StringSliceCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			hs[i] = p.HMGet(ctx, keyInvocation(id), recordFields...)
			errs[i] = p.LRange(ctx, keyInvocationErrors(id), 0, -1)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: get invocations: %w", err)
	}
	out := make([]*record.Invocation, 0, len(ids))
	for i := range ids {
		h := make(map[string]string, len(recordFields))
		for j, v := range hs[i].Val() {
			if v, ok := v.(string); ok {
				h[recordFields[j]] = v
			}
		}
		if h["id"] == "" {
			continue
		}
		inv := &record.Invocation{
			Summary:   record.Summary{ID: h["id"], Function: h["function"], Mode: h["mode"], Status: h["status"], Trigger: h["trigger"]},
			ErrorCode: h["errorCode"], Error: h["error"], ReplayOf: h["replayOf"], Edited: h["edited"] == "1", LastReplay: h["lastReplay"], CallbackURL: h["callbackUrl"],
		}
		inv.Attempts, _ = strconv.Atoi(h["attempts"])
		inv.MaxAttempts, _ = strconv.Atoi(h["maxAttempts"])
		inv.CreatedAt = unstamp(h["createdAt"])
		inv.UpdatedAt = unstamp(h["updatedAt"])
		inv.StartedAt = unstampPtr(h["startedAt"])
		inv.FinishedAt = unstampPtr(h["finishedAt"])
		inv.NextAttemptAt = unstampPtr(h["nextAttemptAt"])
		if ms, err := strconv.ParseInt(h["leaseUntil"], 10, 64); err == nil && inv.Status == record.StatusRunning {
			t := time.UnixMilli(ms).UTC()
			inv.LeaseUntil = &t
			if inv.LostSync(time.Now()) {
				inv.MarkLost() // nothing else ever ends it
			}
		}
		if r := h["result"]; r != "" {
			inv.Result = &record.Result{}
			_ = json.Unmarshal([]byte(r), inv.Result)
		}
		if c := h["callback"]; c != "" {
			inv.Callback = &record.CallbackState{}
			_ = json.Unmarshal([]byte(c), inv.Callback)
		}
		if r := h["route"]; r != "" {
			inv.Route = json.RawMessage(r)
		}
		for _, e := range errs[i].Val() {
			var ae record.AttemptError
			if json.Unmarshal([]byte(e), &ae) == nil {
				inv.AttemptErrors = append(inv.AttemptErrors, ae)
			}
		}
		out = append(out, inv)
	}
	return out, nil
}

// recordFields are the hash fields a record is read from (not its event).
var recordFields = []string{"id", "function", "mode", "status", "attempts", "maxAttempts", "createdAt", "updatedAt",
	"startedAt", "finishedAt", "nextAttemptAt", "result", "errorCode", "error", "replayOf", "lastReplay", "callbackUrl", "callback", "route", "leaseUntil", "trigger", "edited"}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func unstamp(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func unstampPtr(s string) *time.Time {
	if s == "" {
		return nil
	}
	t := unstamp(s)
	return &t
}
