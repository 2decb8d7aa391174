package event

import (
	"cmp"
	"crypto/sha256"
	enchex "encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
)

// NATS header names of every message between gateways and workers. They
// are built and parsed only in this package: [Call.Header] and [ParseCall]
// for a synchronous request, [Job.Header] and [ParseJob] for a queued
// invocation, [Reply.Msg], [ErrorMsg] and [ParseReply] for a reply,
// [DeadLetterHeader] for a dead letter.
const (
	// HeaderRequestID carries the gateway's request id to the worker.
	HeaderRequestID = "Fngate-Request-Id"
	// HeaderDeadline carries the absolute deadline of the call as Unix
	// milliseconds; the worker turns it into the handler's context deadline.
	HeaderDeadline = "Fngate-Deadline"
	// HeaderTraceParent carries the W3C trace context (the standard name).
	HeaderTraceParent = "traceparent"
	// HeaderStatus carries the HTTP status code chosen by the function.
	HeaderStatus = "Fngate-Status"
	// HeaderError is set on a reply when the invocation failed; its value is
	// an error code and the payload is the message.
	HeaderError = "Fngate-Error"
	// HeaderResponsePrefix prefixes every HTTP response header the function
	// returned, e.g. "H-Content-Type".
	HeaderResponsePrefix = "H-"

	// HeaderInvocationID carries the invocation id of a dead letter (and
	// of an invocation queued by a gateway before Async v2). A queued
	// invocation's id is its Nats-Msg-Id, so that a re-sent publish is
	// deduplicated by JetStream, and the last token of its subject.
	HeaderInvocationID = "Fngate-Invocation-Id"
	// HeaderTimeout is the per-attempt timeout, a Go duration.
	HeaderTimeout = "Fngate-Timeout"
	// HeaderMaxAttempts, HeaderRetryInitial and HeaderRetryMax carry the
	// route's retry policy, so workers need no route lookup.
	HeaderMaxAttempts  = "Fngate-Max-Attempts"
	HeaderRetryInitial = "Fngate-Retry-Initial"
	HeaderRetryMax     = "Fngate-Retry-Max"
	// HeaderCallbackURL is where the result is POSTed when the invocation ends.
	HeaderCallbackURL = "Fngate-Callback-Url"
	// HeaderRedact names the request headers (comma-separated) whose
	// values copies of the event that are kept, such as dead letters,
	// replace with [Redacted]; the function still gets them.
	HeaderRedact = "Fngate-Redact"
	// HeaderMaxEventAge is the route's maxEventAge, a Go duration: how long
	// after its acceptance the invocation may still run (messages of
	// Async v2 gateways carry it in HeaderPolicy).
	HeaderMaxEventAge = "Fngate-Max-Event-Age"
	// HeaderPolicy carries a queued invocation's whole policy in one
	// header, durations in nanoseconds: "timeout maxAttempts
	// retryInitial retryMax maxEventAge". One value instead of five keeps
	// the message small; the five headers above are still read from
	// messages of older gateways.
	HeaderPolicy = "Fngate-Policy"
	// HeaderReplayOf names the invocation a replay runs again.
	HeaderReplayOf = "Fngate-Replay-Of"
	// HeaderFallback is set on a synchronous request whose caller gets
	// 202 if the function outlives a wait (Prefer: respond-async, or a
	// route's fallbackAfter): "<invocation id> <wait end, Unix ms>". A
	// call still running at the wait's end is recorded by its worker
	// under that id, so the result survives the gateway that answered
	// 202. HeaderCallbackURL and HeaderRedact go with it.
	HeaderFallback = "Fngate-Fallback"

	// Streamed responses (#17; stream.go). HeaderStream is set on the
	// first reply of a function that streams: the stream's id, which
	// names its subjects (subject.StreamData, subject.StreamCredit); the
	// reply carries the status and headers, the chunks follow.
	HeaderStream = "Fngate-Stream"
	// HeaderStreamSeq numbers the messages of a stream from 1, so that the
	// gateway notices a lost one.
	HeaderStreamSeq = "Fngate-Seq"
	// HeaderStreamEnd marks the last message of a stream that ended well
	// (a failed one ends with HeaderError instead).
	HeaderStreamEnd = "Fngate-End"
	// HeaderStreamCredit is the gateway's grant: how many chunks, counted
	// from the first, the worker may have sent.
	HeaderStreamCredit = "Fngate-Credit"
	// HeaderStreamIdle carries the route's streamIdleTimeout in
	// milliseconds on the first grant: the worker gives up a stream whose
	// gateway grants nothing for that long.
	HeaderStreamIdle = "Fngate-Idle"
	// HeaderStreamCancel on a credit message stops the stream: the client
	// left or the stream was silent too long. Its value is the reason.
	HeaderStreamCancel = "Fngate-Cancel"
	// HeaderCollect is set on a synchronous request whose caller takes a
	// whole response only (it holds an idempotency key): a function that
	// streams has its body concatenated, as for an async invocation.
	HeaderCollect = "Fngate-Collect"
)

// Call is what the headers of a synchronous request carry besides the
// event: who asked, until when, and the trace it belongs to.
type Call struct {
	RequestID string
	// Deadline is when the caller stops waiting (millisecond precision on
	// the wire); zero when the request named none.
	Deadline    time.Time
	TraceParent string
	// Fallback is set when the caller gets 202 once the call outlives a
	// wait; nil for every other call (nothing is encoded or allocated).
	Fallback *Fallback
	// Collect asks for a whole response even from a function that
	// streams (HeaderCollect).
	Collect bool
}

// Fallback is what a worker needs to record a synchronous call that
// outlived its caller's wait: the invocation id the caller was given,
// the wait's end, and the callback and redaction of a queued invocation.
type Fallback struct {
	InvocationID string
	// WaitUntil is when the caller gets 202 (millisecond precision on
	// the wire); a call still running then is recorded.
	WaitUntil   time.Time
	CallbackURL string
	// Redact names, comma-separated, the request headers that the
	// recorded event redacts (see [Job.Redact]).
	Redact string
}

// Header encodes c as the headers of a request message. It is built per
// call on the gateway's hot path: one map and its values, nothing more.
func (c *Call) Header() nats.Header {
	h := nats.Header{
		HeaderRequestID: {c.RequestID},
		HeaderDeadline:  {strconv.FormatInt(c.Deadline.UnixMilli(), 10)},
	}
	if c.TraceParent != "" {
		h[HeaderTraceParent] = []string{c.TraceParent}
	}
	if f := c.Fallback; f != nil {
		h[HeaderFallback] = []string{f.InvocationID + " " + strconv.FormatInt(f.WaitUntil.UnixMilli(), 10)}
		if f.CallbackURL != "" {
			h[HeaderCallbackURL] = []string{f.CallbackURL}
		}
		if f.Redact != "" {
			h[HeaderRedact] = []string{f.Redact}
		}
	}
	if c.Collect {
		h[HeaderCollect] = collectValue
	}
	return h
}

var collectValue = []string{"1"} // shared, read-only

// ParseCall decodes the headers of a request message. A missing or
// malformed deadline is the zero time: the call runs without one.
func ParseCall(h nats.Header) Call {
	c := Call{RequestID: first(h, HeaderRequestID), TraceParent: first(h, HeaderTraceParent)}
	if ms, err := strconv.ParseInt(first(h, HeaderDeadline), 10, 64); err == nil {
		c.Deadline = time.UnixMilli(ms)
	}
	if v := first(h, HeaderFallback); v != "" {
		c.Fallback = parseFallback(v, h)
	}
	c.Collect = first(h, HeaderCollect) != ""
	return c
}

// parseFallback decodes HeaderFallback's value v; nil when malformed
// (the call then runs as a plain synchronous one).
func parseFallback(v string, h nats.Header) *Fallback {
	id, until, ok := strings.Cut(v, " ")
	ms, err := strconv.ParseInt(until, 10, 64)
	if !ok || err != nil || id == "" {
		return nil
	}
	return &Fallback{InvocationID: id, WaitUntil: time.UnixMilli(ms), CallbackURL: first(h, HeaderCallbackURL), Redact: first(h, HeaderRedact)}
}

// RedactNames is Redact as a list; nil when empty.
func (f *Fallback) RedactNames() []string { return names(f.Redact) }

// JobFor is the job of an invocation of rt: the route's policy (timeout,
// attempts, retry delays, event age); the caller adds identity, trace and
// callback.
func JobFor(rt *route.Route) Job {
	p := rt.RetryPolicy()
	return Job{
		Timeout: time.Duration(rt.Timeout), MaxAttempts: p.MaxAttempts,
		RetryInitial: time.Duration(p.InitialDelay), RetryMax: time.Duration(p.MaxDelay),
		MaxEventAge: rt.EventAge(),
	}
}

// Job is what the headers of a queued invocation carry besides the event:
// its identity, its trace and the route's policy for it, so that a worker
// needs no route lookup.
type Job struct {
	InvocationID, RequestID, TraceParent string
	// Timeout bounds one attempt.
	Timeout time.Duration
	// MaxAttempts, RetryInitial and RetryMax are the retry policy: at most
	// MaxAttempts runs, waiting from RetryInitial doubling to RetryMax.
	MaxAttempts            int
	RetryInitial, RetryMax time.Duration
	// CallbackURL receives the result when the invocation ends; "" none.
	CallbackURL string
	// Redact names, comma-separated, the request headers that kept
	// copies of the event redact (see [Job.RedactNames]); "" none. It stays
	// a string: a worker splits it only for a dead letter.
	Redact string
	// MaxEventAge bounds the invocation's life from its acceptance (the
	// message's JetStream timestamp).
	MaxEventAge time.Duration
	// ReplayOf is the invocation this one replays; "" none.
	ReplayOf string
	// Trigger is "schedule:<id>" for a schedule's firing; "" for a request.
	Trigger string
}

// RedactNames is Redact as a list, for [Redact]; nil when empty.
func (j *Job) RedactNames() []string { return names(j.Redact) }

// names splits a comma-separated list; nil when empty.
func names(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

// Header encodes j as the headers of a queued invocation message.
// The invocation id travels as the Nats-Msg-Id (JetStream's deduplication
// key) and in the subject (subject.AsyncInvocation), not in a header of
// its own.
func (j *Job) Header() nats.Header {
	policy := make([]byte, 0, 48)
	policy = strconv.AppendInt(policy, int64(j.Timeout), 10)
	policy = strconv.AppendInt(append(policy, ' '), int64(j.MaxAttempts), 10)
	policy = strconv.AppendInt(append(policy, ' '), int64(j.RetryInitial), 10)
	policy = strconv.AppendInt(append(policy, ' '), int64(j.RetryMax), 10)
	policy = strconv.AppendInt(append(policy, ' '), int64(j.MaxEventAge), 10)
	h := nats.Header{
		HeaderRequestID: {j.RequestID},
		HeaderPolicy:    {string(policy)},
	}
	if j.InvocationID != "" {
		h[nats.MsgIdHdr] = []string{j.InvocationID}
	}
	if j.ReplayOf != "" {
		h[HeaderReplayOf] = []string{j.ReplayOf}
	}
	if j.CallbackURL != "" {
		h[HeaderCallbackURL] = []string{j.CallbackURL}
	}
	if j.Redact != "" {
		h[HeaderRedact] = []string{j.Redact}
	}
	if j.TraceParent != "" {
		h[HeaderTraceParent] = []string{j.TraceParent}
	}
	return h
}

// ParseJob decodes the headers of a queued invocation message. A missing
// or invalid policy value is the route default (route.DefaultTimeout,
// route.DefaultMaxAttempts, ...), as for a route that names none; a
// RetryMax below RetryInitial is the default too. InvocationID is the
// Nats-Msg-Id (or, from an older gateway, Fngate-Invocation-Id); "" when
// the message has neither: it is not an invocation.
func ParseJob(h nats.Header) Job {
	j := Job{
		InvocationID: cmp.Or(first(h, HeaderInvocationID), first(h, nats.MsgIdHdr)),
		ReplayOf:     first(h, HeaderReplayOf),
		MaxEventAge:  route.DefaultMaxEventAge,
		RequestID:    first(h, HeaderRequestID),
		TraceParent:  first(h, HeaderTraceParent),
		CallbackURL:  first(h, HeaderCallbackURL),
		Redact:       first(h, HeaderRedact),
		Timeout:      route.DefaultTimeout,
		MaxAttempts:  route.DefaultMaxAttempts,
		RetryInitial: route.DefaultInitialDelay,
		RetryMax:     route.DefaultMaxDelay,
	}
	if j.InvocationID == "" {
		j.InvocationID, j.Trigger = firing(h)
	}
	var timeout, initial, maxDelay, age time.Duration
	var errT, errI, errM, errA error
	attempts := first(h, HeaderMaxAttempts)
	if p, ok := policyFields(first(h, HeaderPolicy)); ok {
		// Nanoseconds: a worker parses this for every invocation it takes,
		// so no duration text is built for it.
		timeout, errT = nanos(p[0])
		attempts = p[1]
		initial, errI = nanos(p[2])
		maxDelay, errM = nanos(p[3])
		age, errA = nanos(p[4])
	} else {
		timeout, errT = time.ParseDuration(first(h, HeaderTimeout))
		initial, errI = time.ParseDuration(first(h, HeaderRetryInitial))
		maxDelay, errM = time.ParseDuration(first(h, HeaderRetryMax))
		age, errA = time.ParseDuration(first(h, HeaderMaxEventAge))
	}
	if errT == nil && timeout > 0 {
		j.Timeout = timeout
	}
	if errI == nil && initial >= 0 {
		j.RetryInitial = initial
	}
	if errM == nil && maxDelay >= j.RetryInitial {
		j.RetryMax = maxDelay
	}
	if errA == nil && age > 0 {
		j.MaxEventAge = age
	}
	if n, err := strconv.Atoi(attempts); err == nil && n > 0 {
		j.MaxAttempts = n
	}
	return j
}

// policyFields splits the value of HeaderPolicy into its five fields
// (see Job.Header), without allocating.
func policyFields(v string) (p [5]string, ok bool) {
	for i := range p {
		v = strings.TrimLeft(v, " \t")
		end := strings.IndexAny(v, " \t")
		if end < 0 {
			end = len(v)
		}
		if end == 0 {
			return p, false
		}
		p[i], v = v[:end], v[end:]
	}
	return p, strings.TrimLeft(v, " \t") == ""
}

// nanos parses a policy field: a whole number of nanoseconds.
func nanos(s string) (time.Duration, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	return time.Duration(n), err
}

// Headers JetStream sets on a message a schedule published (nats-server
// 2.12+): the schedule message's subject and, for a repeating schedule,
// the time of its next firing.
const (
	headerScheduler    = "Nats-Scheduler"
	headerScheduleNext = "Nats-Schedule-Next"
)

// firing derives the invocation id of a schedule's firing: every firing
// of a repeating schedule carries the same payload and headers, but its
// Nats-Schedule-Next (the following firing's time) differs, so the
// schedule's subject and that time name this firing alone, the same
// for every worker that gets it and for a redelivery. "" when h is not
// from a schedule fngate made.
func firing(h nats.Header) (id, trigger string) {
	sched, next := first(h, headerScheduler), first(h, headerScheduleNext)
	sid := subject.ScheduleOf(sched)
	if sid == "" || next == "" || next == "purge" {
		return "", ""
	}
	sum := sha256.Sum256([]byte(sched + " " + next))
	return enchex.EncodeToString(sum[:16]), TriggerSchedule + sid
}

// TriggerSchedule prefixes the schedule id in a firing's Trigger.
const TriggerSchedule = "schedule:"

// DeadLetterHeader is the headers of a dead letter: its invocation id.
func DeadLetterHeader(invocationID string) nats.Header {
	return nats.Header{HeaderInvocationID: {invocationID}}
}

// first is h.Get(key), which panics on a present but empty value list
// (nothing the NATS parser makes, but a header map built in Go may hold).
func first(h nats.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
