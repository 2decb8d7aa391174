// Package queue sets up the JetStream streams and consumers behind
// asynchronous invocations. Gateways and workers both call it at start; every
// call is idempotent, so neither depends on the other having run first.
package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
)

// Config sizes the streams.
type Config struct {
	// MaxBytes bounds the invocation stream (default DefaultMaxBytes; -1
	// unbounded). It discards new messages: a publish to a full stream is
	// refused (see IsFull), never a queued invocation dropped.
	MaxBytes int64
	// Replicas of both streams: 1 for a single server, 3 in a cluster.
	Replicas int
	// MaxAge bounds how long an invocation may stay in the queue; it must
	// be longer than any route's maxEventAge (route.MaxEventAgeLimit), so
	// that a worker marks an invocation EXPIRED before the stream would
	// drop it silently (default DefaultMaxAge). DeadMaxAge is how long
	// dead letters are kept (default DefaultDeadMaxAge).
	MaxAge, DeadMaxAge time.Duration
	// DeadMaxBytes bounds the dead-letter stream (default
	// DefaultDeadMaxBytes; -1 unbounded). It discards the oldest dead
	// letters: a dead invocation is always recorded, and its record (in
	// Redis, with every attempt's error) outlives its letter. Like
	// MaxBytes, it reserves that much of the server's JetStream storage.
	DeadMaxBytes int64
	// Duplicates is JetStream's deduplication window for invocation ids
	// (default 10 minutes).
	Duplicates time.Duration
}

// DefaultMaxAge is the invocation stream's MaxAge: the longest
// maxEventAge a route may set plus a day in which workers that were all
// away can still take an expired invocation and mark it EXPIRED.
const DefaultMaxAge = route.MaxEventAgeLimit + 24*time.Hour

func (c Config) withDefaults() Config {
	c.Replicas = cmp.Or(c.Replicas, 1)
	c.MaxAge = max(c.MaxAge, DefaultMaxAge)
	c.DeadMaxAge = cmp.Or(c.DeadMaxAge, DefaultDeadMaxAge)
	c.DeadMaxBytes = cmp.Or(c.DeadMaxBytes, DefaultDeadMaxBytes)
	c.Duplicates = cmp.Or(c.Duplicates, 10*time.Minute)
	c.MaxBytes = cmp.Or(c.MaxBytes, DefaultMaxBytes)
	return c
}

// DefaultMaxBytes bounds the queued invocations to 1 GiB per replica:
// about a million events of 1 KiB, or a thousand at the 1 MiB async body
// limit; a twentieth of the k8s manifest's 20 GiB JetStream volume, which
// also holds the dead letters and the Raft logs.
const DefaultMaxBytes = 1 << 30

// Defaults of the dead-letter stream's bounds (Config.DeadMaxAge,
// Config.DeadMaxBytes).
const (
	DefaultDeadMaxAge   = 30 * 24 * time.Hour
	DefaultDeadMaxBytes = 256 << 20
)

// Validate reports a MaxBytes that is neither unbounded nor room for
// one async body.
func (c Config) Validate() error {
	if c.MaxBytes < -1 || c.MaxBytes > 0 && c.MaxBytes < 1<<20 {
		return fmt.Errorf("queue: MaxBytes %d is neither -1 (unbounded) nor at least 1 MiB (room for one async body)", c.MaxBytes)
	}
	if c.DeadMaxBytes < -1 || c.DeadMaxBytes > 0 && c.DeadMaxBytes < 1<<20 {
		return fmt.Errorf("queue: DeadMaxBytes %d is neither -1 (unbounded) nor at least 1 MiB (room for one dead letter)", c.DeadMaxBytes)
	}
	if c.DeadMaxAge < 0 {
		return fmt.Errorf("queue: DeadMaxAge %s is negative", c.DeadMaxAge)
	}
	return nil
}

// EnsureStreams creates or updates the invocation, schedule and
// dead-letter streams, all on file storage.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	// The schedules stream first: the invocation stream sources from it.
	for _, stream := range []jetstream.StreamConfig{schedulesStream(), {
		Name:        subject.StreamInvocations,
		Description: "fngate asynchronous invocations, one subject per function",
		MaxBytes:    cfg.MaxBytes,
		Subjects:    []string{subject.AsyncAll()},
		Retention:   jetstream.WorkQueuePolicy,
		MaxAge:      cfg.MaxAge,
		Discard:     jetstream.DiscardNew,
		Sources:     firedSource(),
	}, {
		Name:        subject.StreamDead,
		Description: "fngate dead letters: invocations that used every attempt",
		Subjects:    []string{subject.DeadAll()},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      cfg.DeadMaxAge,
		MaxBytes:    cfg.DeadMaxBytes,
		Discard:     jetstream.DiscardOld,
	}} {
		stream.Storage, stream.Replicas, stream.Duplicates = jetstream.FileStorage, cfg.Replicas, cfg.Duplicates
		if err := ensureStream(ctx, js, stream); err != nil {
			return fmt.Errorf("queue: stream %s: %w", stream.Name, err)
		}
	}
	// A replicated stream just created takes publishes once its replicas
	// elected a leader: until then a publish gets "no response from
	// stream". Ready means ready.
	if cfg.Replicas > 1 {
		for _, name := range []string{subject.StreamSchedules, subject.StreamInvocations, subject.StreamDead} {
			if err := waitLeader(ctx, js, name); err != nil {
				return fmt.Errorf("queue: stream %s: %w", name, err)
			}
		}
	}
	return nil
}

// waitLeader returns once stream name has a leader, or with ctx's error.
func waitLeader(ctx context.Context, js jetstream.JetStream, name string) error {
	for {
		s, err := js.Stream(ctx, name)
		if err == nil {
			if info, err := s.Info(ctx); err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no leader elected: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ensureStream creates the stream, or updates it when a field fngate sets
// differs. A stream already as wanted is left alone: every gateway start
// would otherwise update it, racing workers creating their consumers
// (nats-server v2.15's stream update and consumer create touch the store's
// config without a common lock, which the race detector reports).
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) error {
	s, err := js.Stream(ctx, want.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		_, err = js.CreateStream(ctx, want) // an identical concurrent create succeeds too
		return err
	case err != nil:
		return err
	}
	have := s.CachedInfo().Config
	if have.Description == want.Description && slices.Equal(have.Subjects, want.Subjects) &&
		have.Retention == want.Retention && have.Storage == want.Storage && have.Replicas == want.Replicas &&
		have.MaxAge == want.MaxAge && have.Duplicates == want.Duplicates && have.Discard == want.Discard &&
		have.MaxBytes == cmp.Or(want.MaxBytes, -1) && have.AllowMsgSchedules == want.AllowMsgSchedules &&
		have.AllowMsgTTL == want.AllowMsgTTL && sameSources(have.Sources, want.Sources) {
		return nil
	}
	_, err = js.UpdateStream(ctx, want)
	return err
}

// Defaults of ConsumerConfig.
const (
	DefaultAckWait       = 30 * time.Second
	DefaultMaxAckPending = 1000
)

// ConsumerConfig tunes a function's durable consumer.
type ConsumerConfig struct {
	// AckWait is how long a delivered invocation may go without an ack or
	// an in-progress heartbeat before it is redelivered (default
	// DefaultAckWait).
	AckWait time.Duration
	// MaxAckPending bounds the invocations of the function in flight across
	// all workers (default DefaultMaxAckPending).
	MaxAckPending int
}

// EnsureConsumer creates or updates the durable pull consumer of function.
// Retries are scheduled by workers (NakWithDelay), so MaxDeliver is
// unlimited here and attempts are counted against each message's policy.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, function string, cfg ConsumerConfig) (jetstream.Consumer, error) {
	name, err := subject.Consumer(function)
	if err != nil {
		return nil, err
	}
	filters, _ := subject.AsyncFilters(function)
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxAckPending == 0 {
		cfg.MaxAckPending = DefaultMaxAckPending
	}
	want := jetstream.ConsumerConfig{
		Durable:        name,
		Description:    "fngate workers of " + function,
		FilterSubjects: filters,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        cfg.AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  cfg.MaxAckPending,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	// Every worker of the function ensures its consumer at start. A
	// create or update makes the server check the consumer's filters
	// against every other consumer's on the stream: at 1,000 functions
	// served by 3 workers, 3,000 such checks over 1,000 consumers kept a
	// core busy for tens of seconds (scripts/natsfleet). A consumer that
	// is already as wanted is only looked up.
	if c, err := js.Consumer(ctx, subject.StreamInvocations, name); err == nil && sameConsumer(c.CachedInfo().Config, want) {
		return c, nil
	}
	c, err := js.CreateOrUpdateConsumer(ctx, subject.StreamInvocations, want)
	if err != nil {
		return nil, fmt.Errorf("queue: consumer %s: %w", name, err)
	}
	return c, nil
}

// sameConsumer reports whether a consumer's config has every setting
// EnsureConsumer sets as want has it.
func sameConsumer(have, want jetstream.ConsumerConfig) bool {
	return slices.Equal(have.FilterSubjects, want.FilterSubjects) && have.AckPolicy == want.AckPolicy &&
		have.AckWait == want.AckWait && have.MaxDeliver == want.MaxDeliver &&
		have.MaxAckPending == want.MaxAckPending && have.DeliverPolicy == want.DeliverPolicy
}

// errCodeStoreFailed is JetStream's API error code JSStreamStoreFailedF
// (nats-server's errors.json): the stream refused to store a message, for
// the reason its description gives.
const errCodeStoreFailed jetstream.ErrorCode = 10077

// JetStream's API error codes for a server out of storage
// (JSInsufficientResourcesErr: its JetStream store is full) and an
// account out of storage (JSStorageResourcesExceededErr).
const (
	errCodeInsufficientResources jetstream.ErrorCode = 10023
	errCodeStorageExceeded       jetstream.ErrorCode = 10047
)

// Descriptions of errCodeStoreFailed for a stream at its limits with
// DiscardNew (nats-server's ErrMaxBytes and ErrMaxMsgs), single server and
// cluster alike.
const (
	descMaxBytes = "maximum bytes exceeded"
	descMaxMsgs  = "maximum messages exceeded"
)

// IsFull reports whether err is JetStream refusing a publish because the
// stream is full: the message was not stored, and may be published again
// once consumers have taken some.
//
// A server whose JetStream storage is exhausted (its max_file_store, by
// default three quarters of the disk, or its account's storage limit)
// refuses the same way, with its own codes: that is a full queue too,
// not an unavailable one.
func IsFull(err error) bool {
	var ae *jetstream.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode {
	case errCodeStoreFailed:
		return ae.Description == descMaxBytes || ae.Description == descMaxMsgs
	case errCodeInsufficientResources, errCodeStorageExceeded:
		return true
	}
	return false
}
