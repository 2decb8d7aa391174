package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
)

// Lookup finds queued invocations in the stream by id: each is the last
// (and only) message on its subject fngate.async.<function>.<id>.
type Lookup struct {
	js jetstream.JetStream

	mu            sync.Mutex
	stream, sched jetstream.Stream // nil until found
}

// NewLookup returns a Lookup over js.
func NewLookup(js jetstream.JetStream) *Lookup { return &Lookup{js: js} }

// Queued returns the record view of invocation id while its message is in
// the stream (waiting, scheduled for a retry or held by a worker), and its
// event as kept (redacted). It returns record.ErrInvocationNotFound when
// the stream has no message for id.
func (l *Lookup) Queued(ctx context.Context, id string) (*record.Invocation, []byte, error) {
	inv, ev, _, err := l.Find(ctx, id)
	return inv, ev, err
}

// Find is Queued with the message's stream sequence, by which Delete
// removes it.
func (l *Lookup) Find(ctx context.Context, id string) (*record.Invocation, []byte, uint64, error) {
	filter, err := subject.AsyncByID(id)
	if err != nil {
		return nil, nil, 0, record.ErrInvocationNotFound
	}
	s, err := l.handle(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	// Not a direct get: the stream leader answers, so a message whose
	// publish was acknowledged (by a quorum) is always found.
	m, err := s.GetLastMsgForSubject(ctx, filter)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		// Not in the invocation stream: delayed, or fired just now. Its
		// sequence is not the invocation stream's (0): CancelDelayed
		// removes a delayed one.
		inv, ev, err := l.scheduled(ctx, id)
		return inv, ev, 0, err
	case err != nil:
		return nil, nil, 0, fmt.Errorf("queue: look up invocation %s: %w", id, err)
	}
	inv, ev, err := queuedView(id, m)
	return inv, ev, m.Sequence, err
}

// firedTransit bounds how long a fired delayed invocation may take to
// reach the invocation stream (sourcing takes milliseconds; a full
// invocation stream holds it back longer, and then it reads as unknown).
const firedTransit = time.Minute

// scheduled looks for id in the schedules stream: a delayed invocation
// waiting for its time (status scheduled, with runAt), or one that just
// fired and is on its way to the invocation stream (queued). One read
// sees both subjects, so a firing between two reads cannot hide it.
func (l *Lookup) scheduled(ctx context.Context, id string) (*record.Invocation, []byte, error) {
	filter, _ := subject.ScheduledByID(id)
	s, err := l.schedules(ctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil, record.ErrInvocationNotFound // a queue set up before schedules
	} else if err != nil {
		return nil, nil, err
	}
	m, err := s.GetLastMsgForSubject(ctx, filter)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, nil, record.ErrInvocationNotFound
	case err != nil:
		return nil, nil, fmt.Errorf("queue: look up scheduled invocation %s: %w", id, err)
	}
	if !subject.IsDelay(m.Subject) {
		// Fired: on its way to the invocation stream if it fired just now
		// (sourcing takes milliseconds); else a copy left behind for
		// FiredTTL, long after a worker took it: the caller reads the
		// records again.
		if time.Since(m.Time) > firedTransit {
			return nil, nil, record.ErrInvocationNotFound
		}
		return queuedView(id, m)
	}
	inv, ev, err := queuedView(id, m)
	if err == nil {
		runAt := RunAt(m.Header)
		inv.Status, inv.RunAt = record.StatusScheduled, &runAt
	}
	return inv, ev, err
}

func queuedView(id string, m *jetstream.RawStreamMsg) (*record.Invocation, []byte, error) {
	j := event.ParseJob(m.Header)
	if j.InvocationID == "" {
		j.InvocationID = id
	}
	inv, ev := Invocation(m.Subject, &j, m.Data, m.Time.UTC())
	return inv, ev, nil
}

// Delete removes the message at seq from the invocation stream (a
// cancelled invocation's); one gone already (acknowledged, or deleted by
// another gateway) is not an error.
func (l *Lookup) Delete(ctx context.Context, seq uint64) error {
	s, err := l.handle(ctx)
	if err != nil {
		return err
	}
	if err := s.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("queue: delete message %d: %w", seq, err)
	}
	return nil
}

// DelayedBytes is the size of the schedules stream: the delayed
// invocations waiting, the schedules (an operator's few), and the fired
// copies kept for FiredTTL.
func (l *Lookup) DelayedBytes(ctx context.Context) (uint64, error) {
	s, err := l.schedules(ctx)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("queue: stream %s: %w", subject.StreamSchedules, err)
	}
	return info.State.Bytes, nil
}

// CancelDelayed is CancelDelayed on the Lookup's JetStream.
func (l *Lookup) CancelDelayed(ctx context.Context, id string) error {
	return CancelDelayed(ctx, l.js, id)
}

// Invocation is the record of a queued message with subject subj (an
// invocation's, delayed or not: see subject.FunctionOf), job j
// (its parsed headers, its id filled in) and data, stored at: status
// queued, no attempt yet. It is what a worker records when it takes the
// message, before its attempt. Its route is the policy the invocation
// runs with (no domain or path: a message does not carry them).
func Invocation(subj string, j *event.Job, data []byte, at time.Time) (*record.Invocation, []byte) {
	fn := subject.FunctionOf(subj)
	inv := &record.Invocation{
		Summary: record.Summary{ID: j.InvocationID, Function: fn, Mode: route.ModeAsync, Status: record.StatusQueued,
			MaxAttempts: j.MaxAttempts, CreatedAt: at, UpdatedAt: at, Trigger: j.Trigger},
		ReplayOf: j.ReplayOf, CallbackURL: j.CallbackURL, Route: policyJSON(fn, j),
	}
	return inv, event.Kept(data, j.RedactNames())
}

// policyJSON is route.Route{Function, Timeout, Retry, MaxEventAge} as
// JSON, written by hand: a worker makes one per invocation it takes.
func policyJSON(fn string, j *event.Job) json.RawMessage {
	b := make([]byte, 0, 160)
	b = append(append(append(b, `{"domain":"","path":"","function":"`...), fn...), `","timeout":"`...)
	b = append(append(b, j.Timeout.String()...), `","retry":{"maxAttempts":`...)
	b = strconv.AppendInt(b, int64(j.MaxAttempts), 10)
	if j.RetryInitial != 0 { // omitempty
		b = append(append(append(b, `,"initialDelay":"`...), j.RetryInitial.String()...), '"')
	}
	b = append(b, `,"maxDelay":"`...)
	b = append(append(b, j.RetryMax.String()...), `"},"maxEventAge":"`...)
	return append(append(b, j.MaxEventAge.String()...), `"}`...)
}

// schedules returns the schedules stream, looked up once.
func (l *Lookup) schedules(ctx context.Context) (jetstream.Stream, error) {
	return l.cached(ctx, &l.sched, subject.StreamSchedules)
}

// handle returns the invocation stream, looked up once.
func (l *Lookup) handle(ctx context.Context) (jetstream.Stream, error) {
	return l.cached(ctx, &l.stream, subject.StreamInvocations)
}

// cached returns stream name, looked up once into *s.
func (l *Lookup) cached(ctx context.Context, s *jetstream.Stream, name string) (jetstream.Stream, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *s != nil {
		return *s, nil
	}
	st, err := l.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("queue: stream %s: %w", name, err)
	}
	*s = st
	return st, nil
}
