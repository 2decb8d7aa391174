package subject

import (
	"errors"
	"fmt"
	"strings"
)

// JetStream names of delayed invocations and schedules. Message
// scheduling (nats-server 2.12+) cannot live in the invocation stream: a
// stream that schedules must discard old messages, and the invocation
// stream discards new ones (a full queue refuses, it never drops). So
// schedules live in a stream of their own whose schedules fire into it
// (a schedule's target must be in its stream), and the invocation
// stream sources the fired messages, renaming fngate.fired.> to
// fngate.async.>.
const (
	// StreamSchedules holds delayed invocations (one schedule message
	// each, fngate.delay.<function>.<id>), schedules (fngate.schedule.<id>)
	// and their firings on the way to StreamInvocations.
	StreamSchedules = "FNGATE_SCHEDULES"
)

// ErrInvalidSchedule reports a schedule id outside [a-z0-9][a-z0-9_-]{0,63}.
var ErrInvalidSchedule = errors.New("invalid schedule id")

// Subjects bound to StreamSchedules.
const (
	delayWildcard    = Prefix + ".delay.>"
	scheduleWildcard = Prefix + ".schedule.>"
	firedWildcard    = Prefix + ".fired.>"
	schedulePrefix   = Prefix + ".schedule."
)

// SchedulesAll are the subject filters of StreamSchedules.
func SchedulesAll() []string { return []string{delayWildcard, scheduleWildcard, firedWildcard} }

// Fired and FiredAsync are the source and destination of the subject
// transform with which the invocation stream sources firings:
// fngate.fired.<function>[.<id>] becomes fngate.async.<function>[.<id>].
const (
	Fired      = firedWildcard
	FiredAsync = asyncWildcard
)

// Delay returns the subject of delayed invocation id's schedule message,
// fngate.delay.<function>.<id>, and the subject it fires on,
// fngate.fired.<function>.<id> (which the invocation stream stores as
// AsyncInvocation(function, id)).
func Delay(function, id string) (sched, target string, err error) {
	s, err := AsyncInvocation(function, id)
	if err != nil {
		return "", "", err
	}
	rest := strings.TrimPrefix(s, Prefix+".async.")
	return Prefix + ".delay." + rest, Prefix + ".fired." + rest, nil
}

// ScheduledByID is the filter matching, in StreamSchedules, invocation
// id's schedule message and its firing on the way to the invocation
// stream: fngate.*.*.<id>.
func ScheduledByID(id string) (string, error) {
	if !ValidInvocationID(id) {
		return "", fmt.Errorf("%w: invocation id %q", ErrInvalidFunction, id)
	}
	return Prefix + ".*.*." + id, nil
}

// IsDelay reports whether subj is a delayed invocation's schedule message
// (made by Delay), not its firing.
func IsDelay(subj string) bool { return strings.HasPrefix(subj, Prefix+".delay.") }

// Schedule returns the subject of schedule id's message, fngate.schedule.<id>,
// and the subject its firings are published on, fngate.fired.<function>
// (stored as Async(function): each firing gets its invocation id from the
// worker, see event.ParseJob).
func Schedule(id, function string) (sched, target string, err error) {
	if !ValidFunction(id) {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidSchedule, id)
	}
	target, err = functionName(Prefix+".fired.", function)
	return schedulePrefix + id, target, err
}

// ScheduleSubject is Schedule's first result alone.
func ScheduleSubject(id string) (string, error) {
	if !ValidFunction(id) {
		return "", fmt.Errorf("%w: %q", ErrInvalidSchedule, id)
	}
	return schedulePrefix + id, nil
}

// SchedulesFilter matches every schedule message.
func SchedulesFilter() string { return schedulePrefix + "*" }

// ScheduleOf returns the schedule id of a subject made by Schedule, or "".
func ScheduleOf(subj string) string {
	id, ok := strings.CutPrefix(subj, schedulePrefix)
	if !ok || !ValidFunction(id) {
		return ""
	}
	return id
}

// ValidSchedule reports whether id is a valid schedule id: the form of a
// function name, so it is safe as a subject token.
func ValidSchedule(id string) bool { return ValidFunction(id) }
