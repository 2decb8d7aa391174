package event

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

var (
	sinkMsg  *nats.Msg
	sinkCall Call
)

func TestCallRoundTrip(t *testing.T) {
	dl := time.UnixMilli(time.Now().Add(3 * time.Second).UnixMilli())
	for _, c := range []Call{
		{RequestID: "req-1", Deadline: dl},
		{RequestID: "req-2", Deadline: dl, TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		{RequestID: "req-3", Deadline: dl, Fallback: &Fallback{InvocationID: "0123456789abcdef0123456789abcdef", WaitUntil: dl.Add(-2 * time.Second)}},
		{RequestID: "req-4", Deadline: dl, Fallback: &Fallback{InvocationID: "0123456789abcdef0123456789abcdef", WaitUntil: dl, CallbackURL: "https://example.com/cb", Redact: "Authorization,Cookie"}},
	} {
		h := c.Header()
		if got := ParseCall(h); !reflect.DeepEqual(got, c) {
			t.Errorf("ParseCall(%v) = %+v, want %+v", h, got, c)
		}
		if _, ok := h[HeaderTraceParent]; ok != (c.TraceParent != "") {
			t.Errorf("traceparent sent = %v for %+v", ok, c)
		}
	}
}

func TestParseCallWithoutDeadline(t *testing.T) {
	for _, v := range []string{"", "soon", "1.5"} {
		h := nats.Header{HeaderRequestID: {"r"}}
		if v != "" {
			h[HeaderDeadline] = []string{v}
		}
		if c := ParseCall(h); !c.Deadline.IsZero() || c.RequestID != "r" {
			t.Errorf("deadline %q: %+v, want no deadline", v, c)
		}
	}
}

func TestJobRoundTrip(t *testing.T) {
	for _, j := range []Job{
		{InvocationID: "0123456789abcdef0123456789abcdef", RequestID: "r", Timeout: 15 * time.Second, MaxAttempts: 3, RetryInitial: time.Second, RetryMax: time.Minute, MaxEventAge: 6 * time.Hour},
		{InvocationID: "id", RequestID: "replay-x", TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			Timeout: 1500 * time.Millisecond, MaxAttempts: 7, RetryInitial: 0, RetryMax: 24 * time.Hour,
			CallbackURL: "https://example.com/cb?x=1", Redact: "Authorization,Cookie", MaxEventAge: time.Minute, ReplayOf: "0123456789abcdef0123456789abcdef"},
	} {
		h := j.Header()
		if got := ParseJob(h); !reflect.DeepEqual(got, j) {
			t.Errorf("ParseJob(%v) =\n %+v, want\n %+v", h, got, j)
		}
	}
}

// A message without a policy (or with a broken one) runs with the route
// defaults, as a route that names none does.
func TestParseJobDefaults(t *testing.T) {
	want := Job{InvocationID: "id", Timeout: 15 * time.Second, MaxAttempts: 3, RetryInitial: time.Second, RetryMax: time.Minute, MaxEventAge: 6 * time.Hour}
	for _, h := range []nats.Header{
		{HeaderInvocationID: {"id"}},
		{nats.MsgIdHdr: {"id"}, HeaderMaxEventAge: {"-1h"}}, // queued by an Async v2 gateway: the id is the Nats-Msg-Id
		{HeaderInvocationID: {"id"}, HeaderTimeout: {"0s"}, HeaderMaxAttempts: {"0"}, HeaderRetryInitial: {"-1s"}, HeaderRetryMax: {"soon"}},
		{HeaderInvocationID: {"id"}, HeaderTimeout: {"-3s"}, HeaderMaxAttempts: {"x"}, HeaderRetryMax: {"10ms"}}, // max below initial
	} {
		if got := ParseJob(h); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseJob(%v) = %+v, want %+v", h, got, want)
		}
	}
}

func TestDeadLetterHeader(t *testing.T) {
	if got := ParseJob(DeadLetterHeader("abc")).InvocationID; got != "abc" {
		t.Errorf("invocation id = %q", got)
	}
}

// The parsers take headers from whoever can publish on the subjects: they
// must not panic, and what they return must encode and decode to itself.
func FuzzParseHeaders(f *testing.F) {
	f.Add("r", "1700000000000", "tp", "id", "15s", "3", "1s", "1m", "https://x/cb", "Authorization,Cookie")
	f.Add("", "", "", "", "", "", "", "", "", "")
	f.Add("r", "-9223372036854775808", "", "i", "-1s", "-1", "1h", "1ms", "", ",")
	f.Fuzz(func(t *testing.T, reqID, deadline, trace, id, timeout, attempts, initial, maxDelay, callback, redact string) {
		h := nats.Header{
			HeaderRequestID: {reqID}, HeaderDeadline: {deadline}, HeaderTraceParent: {trace},
			HeaderInvocationID: {id}, HeaderTimeout: {timeout}, HeaderMaxAttempts: {attempts},
			HeaderRetryInitial: {initial}, HeaderRetryMax: {maxDelay}, HeaderCallbackURL: {callback}, HeaderRedact: {redact},
			HeaderStatus: {}, // present but empty: nats.Header.Get would panic
		}
		c := ParseCall(h)
		if !c.Deadline.IsZero() {
			if again := ParseCall(c.Header()); !reflect.DeepEqual(again, c) {
				t.Fatalf("call %+v decodes to %+v", c, again)
			}
		}
		j := ParseJob(h)
		if j.Timeout <= 0 || j.MaxAttempts <= 0 || j.RetryInitial < 0 || j.RetryMax < 0 {
			t.Fatalf("policy out of range: %+v", j)
		}
		if again := ParseJob(j.Header()); !reflect.DeepEqual(again, j) {
			t.Fatalf("job %+v decodes to %+v", j, again)
		}
		if names := j.RedactNames(); (len(names) == 0) != (j.Redact == "") {
			t.Fatalf("redact %q names %q", j.Redact, names)
		}
	})
}

func BenchmarkCallHeader(b *testing.B) {
	b.ReportAllocs()
	c := Call{RequestID: "abc", Deadline: time.Now().Add(time.Second), TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	for b.Loop() {
		sinkMsg = &nats.Msg{Subject: "x", Header: c.Header()}
	}
}

func BenchmarkParseCall(b *testing.B) {
	b.ReportAllocs()
	h := (&Call{RequestID: "abc", Deadline: time.Now().Add(time.Second), TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}).Header()
	for b.Loop() {
		sinkCall = ParseCall(h)
	}
}

func ExampleParseJob() {
	// A queued message without a policy runs with the route defaults.
	j := ParseJob(nats.Header{HeaderInvocationID: {"0123456789abcdef0123456789abcdef"}, HeaderMaxAttempts: {"5"}})
	fmt.Println(j.MaxAttempts, j.Timeout, j.RetryInitial, j.RetryMax)
	// Output: 5 15s 1s 1m0s
}
