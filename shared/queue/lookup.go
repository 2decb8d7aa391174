package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
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
	filter, err := subject.AsyncByID(id)
	if err != nil {
		return nil, nil, record.ErrInvocationNotFound
	}
	s, err := l.handle(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Not a direct get: the stream leader answers, so a message whose
	// publish was acknowledged (by a quorum) is always found.
	m, err := s.GetLastMsgForSubject(ctx, filter)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, nil, record.ErrInvocationNotFound
	case err != nil:
		return nil, nil, fmt.Errorf("queue: look up invocation %s: %w", id, err)
	}
	inv, ev := Invocation(m.Subject, m.Header, m.Data, m.Time.UTC())
	return inv, ev, nil
}

// Invocation is the record of a queued message with subject subj,
// headers h and data, stored at: status queued, no attempt yet. It is
// what a worker records when it takes the message, before its attempt.
func Invocation(subj string, h nats.Header, data []byte, at time.Time) (*record.Invocation, []byte) {
	j := event.ParseJob(h)
	fn := strings.TrimPrefix(subj, subject.Prefix+".async.")
	if i := strings.IndexByte(fn, '.'); i >= 0 {
		fn = fn[:i]
	}
	policy := route.Route{Function: fn, Timeout: route.Duration(j.Timeout), MaxEventAge: route.Duration(j.MaxEventAge),
		Retry: &route.Retry{MaxAttempts: j.MaxAttempts, InitialDelay: route.Duration(j.RetryInitial), MaxDelay: route.Duration(j.RetryMax)}}
	inv := &record.Invocation{
		Summary: record.Summary{ID: j.InvocationID, Function: fn, Mode: route.ModeAsync, Status: record.StatusQueued,
			MaxAttempts: j.MaxAttempts, CreatedAt: at, UpdatedAt: at},
		ReplayOf: j.ReplayOf, CallbackURL: j.CallbackURL, Route: policy.JSON(),
	}
	return inv, event.Kept(data, j.RedactNames())
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
