package event

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/route"
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

	// HeaderInvocationID carries the invocation id of a queued invocation
	// or a dead letter (also its Nats-Msg-Id, so a re-sent publish is
	// deduplicated by JetStream).
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
)

// Call is what the headers of a synchronous request carry besides the
// event: who asked, until when, and the trace it belongs to.
type Call struct {
	RequestID string
	// Deadline is when the caller stops waiting (millisecond precision on
	// the wire); zero when the request named none.
	Deadline    time.Time
	TraceParent string
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
	return h
}

// ParseCall decodes the headers of a request message. A missing or
// malformed deadline is the zero time: the call runs without one.
func ParseCall(h nats.Header) Call {
	c := Call{RequestID: first(h, HeaderRequestID), TraceParent: first(h, HeaderTraceParent)}
	if ms, err := strconv.ParseInt(first(h, HeaderDeadline), 10, 64); err == nil {
		c.Deadline = time.UnixMilli(ms)
	}
	return c
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
}

// RedactNames is Redact as a list, for [Redact]; nil when empty.
func (j *Job) RedactNames() []string {
	if j.Redact == "" {
		return nil
	}
	return strings.Split(j.Redact, ",")
}

// Header encodes j as the headers of a queued invocation message.
func (j *Job) Header() nats.Header {
	h := nats.Header{
		HeaderInvocationID: {j.InvocationID},
		HeaderRequestID:    {j.RequestID},
		HeaderTimeout:      {j.Timeout.String()},
		HeaderMaxAttempts:  {strconv.Itoa(j.MaxAttempts)},
		HeaderRetryInitial: {j.RetryInitial.String()},
		HeaderRetryMax:     {j.RetryMax.String()},
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
// RetryMax below RetryInitial is the default too. InvocationID is "" when
// the message has none: it is not an invocation.
func ParseJob(h nats.Header) Job {
	j := Job{
		InvocationID: first(h, HeaderInvocationID),
		RequestID:    first(h, HeaderRequestID),
		TraceParent:  first(h, HeaderTraceParent),
		CallbackURL:  first(h, HeaderCallbackURL),
		Redact:       first(h, HeaderRedact),
		Timeout:      route.DefaultTimeout,
		MaxAttempts:  route.DefaultMaxAttempts,
		RetryInitial: route.DefaultInitialDelay,
		RetryMax:     route.DefaultMaxDelay,
	}
	if d, err := time.ParseDuration(first(h, HeaderTimeout)); err == nil && d > 0 {
		j.Timeout = d
	}
	if d, err := time.ParseDuration(first(h, HeaderRetryInitial)); err == nil && d >= 0 {
		j.RetryInitial = d
	}
	if d, err := time.ParseDuration(first(h, HeaderRetryMax)); err == nil && d >= j.RetryInitial {
		j.RetryMax = d
	}
	if n, err := strconv.Atoi(first(h, HeaderMaxAttempts)); err == nil && n > 0 {
		j.MaxAttempts = n
	}
	return j
}

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
