package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Invocation statuses.
const (
	StatusQueued    = "queued"    // accepted, waiting for a worker
	StatusRunning   = "running"   // an attempt is running
	StatusFailed    = "failed"    // an attempt failed; the next is scheduled (or a recorded sync failure)
	StatusSucceeded = "succeeded" // the function answered (a status below 500 and not 429)
	StatusDead      = "dead"      // every attempt failed: in the dead-letter stream
)

// ErrInvocationNotFound reports an unknown or expired invocation id.
var ErrInvocationNotFound = errors.New("invocation not found")

// NewInvocationID returns a random, unguessable invocation id.
func NewInvocationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ReplayID returns the id of the replay of id. An invocation is replayed
// at most once: every caller that replays it gets this id (to run it again,
// replay the replay).
func ReplayID(id string) string {
	sum := sha256.Sum256([]byte(id + ":replay"))
	return hex.EncodeToString(sum[:16])
}

// ValidInvocationID reports whether id has the form of the ids
// NewInvocationID and ReplayID make: 32 lower-case hex characters.
func ValidInvocationID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Invocation is the record of one asynchronous (or recorded sync) call.
type Invocation struct {
	ID            string     `json:"invocationId"`
	Function      string     `json:"function"`
	Mode          string     `json:"mode"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	MaxAttempts   int        `json:"maxAttempts"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	StartedAt     *time.Time `json:"startedAt,omitempty"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	Result        *Result    `json:"result,omitempty"`
	// ErrorCode classifies the last failure (see PublicMessage); Error is
	// its full text, for operators only.
	ErrorCode     string          `json:"errorCode,omitempty"`
	Error         string          `json:"error,omitempty"`
	AttemptErrors []AttemptError  `json:"attemptErrors,omitempty"`
	ReplayOf      string          `json:"replayOf,omitempty"`
	LastReplay    string          `json:"lastReplay,omitempty"`
	CallbackURL   string          `json:"callbackUrl,omitempty"`
	Callback      *CallbackState  `json:"callback,omitempty"`
	Route         json.RawMessage `json:"route,omitempty"`
}

// Result is what the function answered, its body capped.
type Result struct {
	StatusCode      int                 `json:"statusCode"`
	Headers         map[string][]string `json:"headers,omitempty"`
	Body            string              `json:"body"`
	IsBase64Encoded bool                `json:"isBase64Encoded,omitempty"`
	Truncated       bool                `json:"truncated,omitempty"`
}

// AttemptError is one failed attempt.
type AttemptError struct {
	Attempt int    `json:"attempt"`
	Code    string `json:"code"`
	// Status is the HTTP status the function answered (Code
	// FUNCTION_STATUS).
	Status int `json:"status,omitempty"`
	// Error is the full text (an error message, a panic stack): operators
	// only, never in the public view.
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

// CallbackState tracks delivery of the result to the callback URL; it never
// changes the invocation's own status.
type CallbackState struct {
	Status   string `json:"status"` // delivered or failed
	Attempts int    `json:"attempts"`
	// Code classifies a failed delivery (CodeCallbackRefused, ...);
	// HTTPStatus is the callback's answer with CodeCallbackHTTPStatus.
	Code       string `json:"code,omitempty"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	// Error is the full text (a dial error, say): operators only.
	Error string `json:"error,omitempty"`
}

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
func (s *Invocations) CreateNew(ctx context.Context, inv *Invocation, event []byte) error {
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
	s.mu.Lock()
	s.touched[inv.Function] = true
	s.mu.Unlock()
	return nil
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
func (s *Invocations) fields(inv *Invocation, event []byte) []any {
	now := inv.CreatedAt
	if now.IsZero() {
		now = time.Now()
		inv.CreatedAt = now
	}
	inv.UpdatedAt = now
	if inv.Status == "" {
		inv.Status = StatusQueued
	}
	fields := []any{
		"event", event,
		"id", inv.ID, "function", inv.Function, "mode", inv.Mode, "status", inv.Status,
		"attempts", inv.Attempts, "maxAttempts", inv.MaxAttempts,
		"createdAt", stamp(now), "updatedAt", stamp(now),
	}
	for k, v := range map[string]string{"replayOf": inv.ReplayOf, "callbackUrl": inv.CallbackURL, "errorCode": inv.ErrorCode, "error": inv.Error, "route": string(inv.Route)} {
		if v != "" {
			fields = append(fields, k, v)
		}
	}
	if inv.Result != nil {
		b, _ := json.Marshal(inv.Result)
		fields = append(fields, "result", string(b))
	}
	return fields
}

func (s *Invocations) index(ctx context.Context, p redis.Pipeliner, inv *Invocation) {
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
func (s *Invocations) Create(ctx context.Context, inv *Invocation, event []byte) (bool, error) {
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

var startInvocation = redis.NewScript(`
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return '' end
if s == 'succeeded' or s == 'dead' then return s end
redis.call('HSET', KEYS[1], 'status', 'running', 'attempts', ARGV[1], 'startedAt', ARGV[2], 'updatedAt', ARGV[2])
redis.call('HDEL', KEYS[1], 'nextAttemptAt')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 'running'`)

// Start marks attempt n as running, unless the invocation already ended.
// It returns the status the record had when it ended (succeeded or dead,
// so a redelivery after a lost ack is not run again), "running", or
// ErrInvocationNotFound.
func (s *Invocations) Start(ctx context.Context, id string, attempt int) (string, error) {
	st, err := startInvocation.Run(ctx, s.rdb, []string{keyInvocation(id)}, attempt, stamp(time.Now()), s.ttl.Milliseconds()).Text()
	if err != nil {
		return "", fmt.Errorf("store: start invocation: %w", err)
	}
	if st == "" {
		return "", ErrInvocationNotFound
	}
	return st, nil
}

var transition = redis.NewScript(`
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -1 end
if s == 'succeeded' or s == 'dead' then return 0 end
if ARGV[1] ~= '0' and redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// ErrStale reports a transition refused because the invocation ended or a
// later attempt took it over (the caller's worker was presumed dead).
var ErrStale = errors.New("invocation record moved on")

// Succeed records the answer of attempt.
func (s *Invocations) Succeed(ctx context.Context, id string, attempt int, res *Result) error {
	b, _ := json.Marshal(res)
	return s.transition(ctx, id, attempt, nil, "status", StatusSucceeded, "result", string(b), "finishedAt", stamp(time.Now()))
}

// AttemptFailed records a failed attempt and when the next one is due.
func (s *Invocations) AttemptFailed(ctx context.Context, id string, ae AttemptError, next time.Time) error {
	return s.transition(ctx, id, ae.Attempt, &ae, "status", StatusFailed, "errorCode", ae.Code, "error", ae.Error, "nextAttemptAt", stamp(next))
}

// Dead records the last failed attempt of an invocation sent to the
// dead-letter stream. An attempt of 0 skips the attempt check (a delivery
// past the last attempt, whose worker was lost).
func (s *Invocations) Dead(ctx context.Context, id string, ae AttemptError, attempt int) error {
	return s.transition(ctx, id, attempt, &ae, "status", StatusDead, "errorCode", ae.Code, "error", ae.Error, "finishedAt", stamp(time.Now()))
}

// transition applies fields when the record has not ended and attempt
// (unless 0) is still its current attempt.
func (s *Invocations) transition(ctx context.Context, id string, attempt int, ae *AttemptError, fields ...any) error {
	var errJSON []byte
	if ae != nil {
		errJSON, _ = json.Marshal(ae)
	}
	args := append([]any{strconv.Itoa(attempt), s.ttl.Milliseconds(), string(errJSON)}, append(fields, "updatedAt", stamp(time.Now()))...)
	n, err := transition.Run(ctx, s.rdb, []string{keyInvocation(id), keyInvocationErrors(id)}, args...).Int64()
	switch {
	case err != nil:
		return fmt.Errorf("store: update invocation %s: %w", id, err)
	case n == -1:
		return ErrInvocationNotFound
	case n == 0:
		return ErrStale
	}
	return nil
}

// SetCallback records the outcome of the callback delivery.
func (s *Invocations) SetCallback(ctx context.Context, id string, cs CallbackState) error {
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
func (s *Invocations) Get(ctx context.Context, id string) (*Invocation, error) {
	invs, err := s.getMany(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(invs) == 0 {
		return nil, ErrInvocationNotFound
	}
	return invs[0], nil
}

// Event returns the event an invocation was called with.
func (s *Invocations) Event(ctx context.Context, id string) ([]byte, error) {
	b, err := s.rdb.HGet(ctx, keyInvocation(id), "event").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrInvocationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: invocation event: %w", err)
	}
	return b, nil
}

// ReplayCreated notes on id's record that replayID replays it.
func (s *Invocations) ReplayCreated(ctx context.Context, id, replayID string) error {
	return s.rdb.HSet(ctx, keyInvocation(id), "lastReplay", replayID).Err()
}

// Filter selects records for List.
type Filter struct {
	Function string
	Status   string
	Since    time.Time // inclusive; zero: no bound
	Until    time.Time // exclusive; zero: no bound
	// Cursor continues a previous listing (its NextCursor).
	Cursor string
	Limit  int // default 50, at most 500
}

// Page is one page of records, newest first.
type Page struct {
	Invocations []*Invocation `json:"invocations"`
	NextCursor  string        `json:"nextCursor,omitempty"`
}

// List returns records matching f, newest first, a page at a time. The
// cursor pins the newest score of the first page and counts index entries
// read since, so records created meanwhile never shift a listing and ties
// in creation time are not skipped.
func (s *Invocations) List(ctx context.Context, f Filter) (*Page, error) {
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
	page := &Page{Invocations: []*Invocation{}}
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
		byID := make(map[string]*Invocation, len(invs))
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

func (s *Invocations) getMany(ctx context.Context, ids []string) ([]*Invocation, error) {
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
	out := make([]*Invocation, 0, len(ids))
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
		inv := &Invocation{
			ID: h["id"], Function: h["function"], Mode: h["mode"], Status: h["status"],
			ErrorCode: h["errorCode"], Error: h["error"], ReplayOf: h["replayOf"], LastReplay: h["lastReplay"], CallbackURL: h["callbackUrl"],
		}
		inv.Attempts, _ = strconv.Atoi(h["attempts"])
		inv.MaxAttempts, _ = strconv.Atoi(h["maxAttempts"])
		inv.CreatedAt = unstamp(h["createdAt"])
		inv.UpdatedAt = unstamp(h["updatedAt"])
		inv.StartedAt = unstampPtr(h["startedAt"])
		inv.FinishedAt = unstampPtr(h["finishedAt"])
		inv.NextAttemptAt = unstampPtr(h["nextAttemptAt"])
		if r := h["result"]; r != "" {
			inv.Result = &Result{}
			_ = json.Unmarshal([]byte(r), inv.Result)
		}
		if c := h["callback"]; c != "" {
			inv.Callback = &CallbackState{}
			_ = json.Unmarshal([]byte(c), inv.Callback)
		}
		if r := h["route"]; r != "" {
			inv.Route = json.RawMessage(r)
		}
		for _, e := range errs[i].Val() {
			var ae AttemptError
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
	"startedAt", "finishedAt", "nextAttemptAt", "result", "errorCode", "error", "replayOf", "lastReplay", "callbackUrl", "callback", "route"}

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
