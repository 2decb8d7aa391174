package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/record"
)

// cancelInvocation ends an invocation as cancelled: a record that has not
// ended and runs no attempt under a live lease (queued, failed and waiting
// for its next attempt, or running under a lease that lapsed) becomes
// cancelled at once; a running one is marked cancelRequested, which the
// Take script honours before any further attempt. An invocation with no
// record (no worker took it) gets one from the fields of its message, so
// that a worker that fetched the message before it was deleted finds it
// cancelled and acknowledges it without running. Returns the status it
// found when the invocation ended already ('missing': no record, no
// fields), or 'sync' for a synchronous call that fell back and runs.
//
// ARGV: now (stamp), now (ms), ttl (ms), then the fields of a new record.
var cancelInvocation = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  if #ARGV < 4 then return 'missing' end
  redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', 0, unpack(ARGV, 4))
end
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'succeeded' or s == 'dead' or s == 'cancelled' then return s end
if redis.call('HGET', KEYS[1], 'mode') == 'sync' then return 'sync' end
if s == 'running' and tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0') > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'cancelRequested', ARGV[1], 'updatedAt', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 'cancelling'
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelRequested', ARGV[1], 'finishedAt', ARGV[1], 'updatedAt', ARGV[1])
redis.call('HDEL', KEYS[1], 'nextAttemptAt', 'leaseUntil', 'owner')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 'cancelled'`)

// Cancel cancels invocation id (see cancelInvocation) and reports its
// status: record.StatusCancelled, record.StatusCancelling (an attempt runs under a
// live lease: its worker is to stop it, see Cancelled; no further attempt
// starts), or the status it ended
// with before (succeeded, dead, or a recorded sync call's); a fallen-back
// sync call that runs is record.ErrSyncCall. inv and event
// are the record and kept event of its queued message (queue.Lookup.Find),
// nil when the stream has none; with neither a record nor inv it returns
// record.ErrInvocationNotFound.
func (s *Invocations) Cancel(ctx context.Context, id string, inv *record.Invocation, event []byte) (string, error) {
	now := time.Now()
	args := []any{stamp(now), now.UnixMilli(), s.ttl.Milliseconds()}
	if inv != nil {
		args = append(args, s.fields(inv, event)...)
	}
	var res *redis.Cmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		res = cancelInvocation.Eval(ctx, p, []string{keyInvocation(id)}, args...)
		if inv != nil {
			s.index(ctx, p, inv) // the same score a worker's take writes
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: cancel invocation %s: %w", id, err)
	}
	st, _ := res.Text()
	switch st {
	case "missing":
		return "", record.ErrInvocationNotFound
	case "sync":
		return "", record.ErrSyncCall
	}
	return st, nil
}

var cancelledAttempt = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'status') ~= 'running' or redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finishedAt', ARGV[2], 'updatedAt', ARGV[2])
redis.call('HDEL', KEYS[1], 'nextAttemptAt', 'leaseUntil', 'owner')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

// Cancelled records that running attempt stopped because the invocation
// was cancelled; record.ErrStale when it is no longer the running one.
func (s *Invocations) Cancelled(ctx context.Context, id string, attempt int) error {
	n, err := cancelledAttempt.Run(ctx, s.rdb, []string{keyInvocation(id)}, strconv.Itoa(attempt), stamp(time.Now()), s.ttl.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("store: cancelled invocation %s: %w", id, err)
	}
	if n == 0 {
		return record.ErrStale // it ended, or a later attempt took it over
	}
	return nil
}
