package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

	mu     sync.Mutex
	stream jetstream.Stream // nil until found
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
		return nil, nil, 0, record.ErrInvocationNotFound
	case err != nil:
		return nil, nil, 0, fmt.Errorf("queue: look up invocation %s: %w", id, err)
	}
	j := event.ParseJob(m.Header)
	if j.InvocationID == "" {
		j.InvocationID = id
	}
	inv, ev := Invocation(m.Subject, &j, m.Data, m.Time.UTC())
	return inv, ev, m.Sequence, nil
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

// Invocation is the record of a queued message with subject subj, job j
// (its parsed headers, its id filled in) and data, stored at: status
// queued, no attempt yet. It is what a worker records when it takes the
// message, before its attempt. Its route is the policy the invocation
// runs with (no domain or path: a message does not carry them).
func Invocation(subj string, j *event.Job, data []byte, at time.Time) (*record.Invocation, []byte) {
	fn := strings.TrimPrefix(subj, subject.Prefix+".async.")
	if i := strings.IndexByte(fn, '.'); i >= 0 {
		fn = fn[:i]
	}
	inv := &record.Invocation{
		Summary: record.Summary{ID: j.InvocationID, Function: fn, Mode: route.ModeAsync, Status: record.StatusQueued,
			MaxAttempts: j.MaxAttempts, CreatedAt: at, UpdatedAt: at},
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

// handle returns the invocation stream, looked up once.
func (l *Lookup) handle(ctx context.Context) (jetstream.Stream, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stream != nil {
		return l.stream, nil
	}
	s, err := l.js.Stream(ctx, subject.StreamInvocations)
	if err != nil {
		return nil, fmt.Errorf("queue: stream %s: %w", subject.StreamInvocations, err)
	}
	l.stream = s
	return s, nil
}
