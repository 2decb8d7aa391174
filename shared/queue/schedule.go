package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/subject"
)

// Headers of JetStream message scheduling (nats-server 2.12+, ADR-51):
// the schedule (@at <RFC 3339>, @every <duration>, or a six-field cron
// pattern with seconds), its time zone (cron only), the subject it fires
// on (in the same stream) and the TTL of each fired message.
const (
	HeaderSchedule         = "Nats-Schedule"
	HeaderScheduleTimeZone = "Nats-Schedule-Time-Zone"
	HeaderScheduleTarget   = "Nats-Schedule-Target"
	HeaderScheduleTTL      = "Nats-Schedule-TTL"
)

// FiredTTL is how long a fired message stays in the schedules stream. The
// invocation stream sources it at once (it holds the invocation from
// then on); the copy left behind only has to outlast a full invocation
// queue, which refuses the copy until workers made room.
const FiredTTL = 24 * time.Hour

// schedulesStream is the stream of delayed invocations and schedules:
// limits retention (a schedule message stays until it fires or is
// deleted), discard old (required by message scheduling: see
// subject.StreamSchedules), per-message TTLs for the fired copies.
func schedulesStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              subject.StreamSchedules,
		Description:       "fngate delayed invocations and schedules; their firings go to " + subject.StreamInvocations,
		Subjects:          subject.SchedulesAll(),
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		AllowMsgSchedules: true,
		AllowMsgTTL:       true,
		AllowRollup:       true,
	}
}

// firedSource makes the invocation stream take every firing from the
// schedules stream under its invocation subject. Sourcing is done by the
// stream's leader, which remembers how far it got: each firing is stored
// once, whatever the number of gateways.
func firedSource() []*jetstream.StreamSource {
	return []*jetstream.StreamSource{{
		Name:              subject.StreamSchedules,
		SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: subject.Fired, Destination: subject.FiredAsync}},
	}}
}

func sameSources(a, b []*jetstream.StreamSource) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].SubjectTransforms) != len(b[i].SubjectTransforms) {
			return false
		}
		for k, t := range a[i].SubjectTransforms {
			if t != b[i].SubjectTransforms[k] {
				return false
			}
		}
	}
	return true
}

// DelayMsg is the schedule message of invocation id of function, due at
// runAt: data and h are the invocation's event and headers
// (event.Job.Header). JetStream publishes it at runAt on
// fngate.fired.<function>.<id>, which the invocation stream stores as
// fngate.async.<function>.<id>, and then removes the schedule message.
func DelayMsg(function, id string, runAt time.Time, h nats.Header, data []byte) (*nats.Msg, error) {
	sched, target, err := subject.Delay(function, id)
	if err != nil {
		return nil, err
	}
	h.Set(HeaderSchedule, "@at "+runAt.UTC().Format(time.RFC3339Nano))
	h.Set(HeaderScheduleTarget, target)
	h.Set(HeaderScheduleTTL, FiredTTL.String())
	return &nats.Msg{Subject: sched, Header: h, Data: data}, nil
}

// RunAt is the time a delayed invocation's schedule message (DelayMsg)
// fires, from its headers; zero when it has none.
func RunAt(h nats.Header) time.Time {
	v, ok := strings.CutPrefix(h.Get(HeaderSchedule), "@at ")
	if !ok {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, v)
	return t
}

// ErrNotDelayed: the invocation has no schedule message (it was never
// delayed, has fired already, or was cancelled).
var ErrNotDelayed = errors.New("queue: the invocation is not waiting for its time")

// CancelDelayed removes delayed invocation id's schedule message, so it
// never fires. It returns ErrNotDelayed when there is none: the
// invocation fired already (look it up in the invocation stream and the
// records) or never was delayed. A firing that races the removal wins
// (JetStream removes the schedule message with the firing): the removal
// then reports ErrNotDelayed.
func CancelDelayed(ctx context.Context, js jetstream.JetStream, id string) error {
	filter, err := subject.ScheduledByID(id)
	if err != nil {
		return ErrNotDelayed
	}
	s, err := js.Stream(ctx, subject.StreamSchedules)
	if err != nil {
		return fmt.Errorf("queue: stream %s: %w", subject.StreamSchedules, err)
	}
	m, err := s.GetLastMsgForSubject(ctx, filter)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return ErrNotDelayed
	case err != nil:
		return fmt.Errorf("queue: look up delayed invocation %s: %w", id, err)
	case !subject.IsDelay(m.Subject):
		return ErrNotDelayed // fired, on its way to the invocation stream
	}
	if err := s.DeleteMsg(ctx, m.Sequence); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) {
			return ErrNotDelayed
		}
		return fmt.Errorf("queue: cancel delayed invocation %s: %w", id, err)
	}
	return nil
}
