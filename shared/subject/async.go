package subject

import (
	"fmt"
	"strings"
)

// JetStream names for asynchronous invocations. They are stable and
// documented so that operators and autoscalers (KEDA's NATS JetStream
// scaler reads lag per stream and consumer) can rely on them.
const (
	// StreamInvocations holds queued asynchronous invocations, one subject
	// per function (see [Async]); work-queue retention removes a message
	// once a worker acknowledges it.
	StreamInvocations = "FNGATE_INVOCATIONS"
	// StreamDead holds dead letters: invocations that used every attempt.
	StreamDead = "FNGATE_DEAD"
)

// Async returns the JetStream subject on which gateways before
// Async v2 queued all of function's invocations; consumers still take
// messages from it (see [AsyncFilters]).
func Async(function string) (string, error) {
	return functionName(Prefix+".async.", function)
}

// AsyncInvocation returns the subject of one queued invocation,
// fngate.async.<function>.<id>: the id in the subject lets anyone find a
// queued invocation by id alone (see [AsyncByID]). id must be a valid
// invocation id (32 lower-case hex characters, record.ValidInvocationID).
func AsyncInvocation(function, id string) (string, error) {
	if !ValidInvocationID(id) {
		return "", fmt.Errorf("%w: invocation id %q", ErrInvalidFunction, id)
	}
	s, err := functionName(Prefix+".async.", function)
	return s + "." + id, err
}

// AsyncFilters are the subjects a function's consumer takes: its
// per-invocation subjects and the subject of older gateways.
func AsyncFilters(function string) ([]string, error) {
	s, err := Async(function)
	if err != nil {
		return nil, err
	}
	return []string{s + ".*", s}, nil
}

// AsyncByID is the filter matching invocation id's message whatever its
// function: fngate.async.*.<id>.
func AsyncByID(id string) (string, error) {
	if !ValidInvocationID(id) {
		return "", fmt.Errorf("%w: invocation id %q", ErrInvalidFunction, id)
	}
	return Prefix + ".async.*." + id, nil
}

// InvocationOf returns the invocation id that ends subj, a subject made
// by AsyncInvocation, or "" for any other subject.
func InvocationOf(subj string) string {
	const n = 32
	if len(subj) < n+1 || subj[len(subj)-n-1] != '.' || !ValidInvocationID(subj[len(subj)-n:]) {
		return ""
	}
	return subj[len(subj)-n:]
}

// FunctionOf returns the function of a queued invocation's subject:
// fngate.async.<function>[.<id>] (AsyncInvocation, Async), or the
// delayed forms fngate.delay.<function>.<id> and fngate.fired.<function>.<id>
// (Delay); "" for any other subject.
func FunctionOf(subj string) string {
	rest, ok := strings.CutPrefix(subj, Prefix+".")
	if !ok {
		return ""
	}
	kind, rest, _ := strings.Cut(rest, ".")
	if kind != "async" && kind != "delay" && kind != "fired" {
		return ""
	}
	fn, _, _ := strings.Cut(rest, ".")
	if !ValidFunction(fn) {
		return ""
	}
	return fn
}

// ValidInvocationID reports whether id has the form of the invocation ids
// fngate makes (record.NewInvocationID, record.ReplayID): 32 lower-case
// hexadecimal characters, so it is safe as a subject token.
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

// Dead returns the subject of function's dead letters.
func Dead(function string) (string, error) {
	return functionName(Prefix+".dead.", function)
}

// Consumer returns the name of the durable pull consumer through which
// workers take function's queued invocations.
func Consumer(function string) (string, error) {
	return functionName(Prefix+"-", function)
}

// Subjects bound to the streams.
const (
	asyncWildcard = Prefix + ".async.>"
	deadWildcard  = Prefix + ".dead.>"
)

// AsyncAll and DeadAll are the subject filters of the two streams.
func AsyncAll() string { return asyncWildcard }

// DeadAll is the subject filter of the dead-letter stream.
func DeadAll() string { return deadWildcard }
