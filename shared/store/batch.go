package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrClosed reports a call on a store after Close.
var ErrClosed = errors.New("store: closed")

// batcher group-commits Redis commands: callers queue a function that adds
// their commands to a pipeline, and one goroutine runs everything waiting
// in one round trip. Each
// caller then reads its own commands' results; a failed round trip fails
// every command in it.
type batcher struct {
	rdb     redis.UniversalClient
	tick    time.Duration
	onTick  func()
	once    sync.Once
	reqs    chan *batchReq
	stop    chan struct{}
	stopped chan struct{}
	closing sync.Once
}

// batchTimeout bounds one round trip of a batch.
const batchTimeout = 2 * time.Second

type batchReq struct {
	fill func(redis.Pipeliner)
	// index entries the caller adds: the batch adds all of one sorted
	// set's entries in one ZADD, so that the invocation indexes cost two
	// commands per round trip, not two per invocation.
	index []indexEntry
	done  chan struct{}
}

// indexEntry is a member to add to the sorted set key.
type indexEntry struct {
	key string
	z   redis.Z
}

func newBatcher(rdb redis.UniversalClient, tick time.Duration, onTick func()) *batcher {
	return &batcher{
		rdb: rdb, tick: tick, onTick: onTick,
		reqs: make(chan *batchReq, 4096), stop: make(chan struct{}), stopped: make(chan struct{}),
	}
}

// do queues fill and waits until its commands ran.
func (b *batcher) do(ctx context.Context, fill func(redis.Pipeliner)) error {
	return b.doIndexed(ctx, fill, nil)
}

// doIndexed is do that also adds index's entries (not waiting for their
// result: an index entry is best effort, the trim and listings skip
// entries without a record).
func (b *batcher) doIndexed(ctx context.Context, fill func(redis.Pipeliner), index []indexEntry) error {
	select {
	case <-b.stop:
		return ErrClosed
	default:
	}
	b.once.Do(func() { go b.loop() })
	r := &batchReq{fill: fill, index: index, done: make(chan struct{})}
	select {
	case b.reqs <- r:
	case <-b.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *batcher) close() {
	b.closing.Do(func() {
		b.once.Do(func() { close(b.stopped) }) // never started
		close(b.stop)
	})
	<-b.stopped
}

func (b *batcher) loop() {
	defer close(b.stopped)
	var tick <-chan time.Time
	if b.tick > 0 {
		t := time.NewTicker(b.tick)
		defer t.Stop()
		tick = t.C
	}
	batch := make([]*batchReq, 0, 256)
	for {
		select {
		case <-b.stop:
			return
		case <-tick:
			b.onTick()
			continue
		case r := <-b.reqs:
			batch = append(batch[:0], r)
		}
		// No timer: whatever queued while the previous round trip was in
		// flight goes in this one, so batches grow with load and a lone
		// request waits for nothing.
	fill:
		for len(batch) < cap(batch) {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		// Bounded well below request deadlines: while Redis is down a batch
		// must fail fast, not hold everyone queued behind it.
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		// Per-command errors (including a lost connection) land in each
		// caller's commands; the aggregate error is nobody's in particular.
		_, _ = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, r := range batch {
				r.fill(p)
			}
			addIndexes(ctx, p, batch)
			return nil
		})
		cancel()
		for _, r := range batch {
			close(r.done)
		}
	}
}

// addIndexes adds the index entries of batch, one ZADD per sorted set.
func addIndexes(ctx context.Context, p redis.Pipeliner, batch []*batchReq) {
	var byKey map[string][]redis.Z
	for _, r := range batch {
		for _, e := range r.index {
			if byKey == nil {
				byKey = map[string][]redis.Z{}
			}
			byKey[e.key] = append(byKey[e.key], e.z)
		}
	}
	for key, zs := range byKey {
		p.ZAdd(ctx, key, zs...)
	}
}
