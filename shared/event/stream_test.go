package event

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The messages of a stream decode to what was encoded.
func TestStreamMessages(t *testing.T) {
	t.Parallel()
	start := StreamStart(&Reply{Status: 206, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte("ignored")}, "abc")
	h := http.Header{}
	status, body, err := ParseReply(start, h)
	if StreamOf(start) != "abc" || err != nil || status != 206 || len(body) != 0 || h.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("start = %v %d %q %v %v", StreamOf(start), status, body, h, err)
	}
	if StreamOf(&nats.Msg{Data: []byte(`{}`)}) != "" || StreamOf(nil) != "" {
		t.Fatal("a whole reply taken for a stream")
	}
	for _, c := range []Chunk{
		{Seq: 1, Data: []byte("data: 1\n\n")},
		{Seq: 2, End: true},
		{Seq: 3, Err: &Error{Code: CodeFunctionError, Message: "boom"}},
	} {
		got, err := ParseChunk(c.Msg("s"))
		if err != nil || got.Seq != c.Seq || string(got.Data) != string(c.Data) || got.End != c.End || !reflect.DeepEqual(got.Err, c.Err) {
			t.Errorf("chunk %+v came back as %+v, %v", c, got, err)
		}
	}
	if _, err := ParseChunk(&nats.Msg{Data: []byte("x")}); err != ErrBadChunk {
		t.Fatalf("a message without sequence: %v", err)
	}
	for _, c := range []Credit{{Total: 16, Idle: 1500 * time.Millisecond}, {Total: 24}, {Total: 24, Cancel: "client gone"}} {
		if got := ParseCredit(c.Msg("s")); got != c {
			t.Errorf("credit %+v came back as %+v", c, got)
		}
	}
}

// An ordinary call asks for a whole response only when told to.
func TestCallCollect(t *testing.T) {
	t.Parallel()
	for _, collect := range []bool{false, true} {
		c := Call{RequestID: "r", Deadline: time.UnixMilli(1000), Collect: collect}
		if got := ParseCall(c.Header()); got.Collect != collect {
			t.Fatalf("Collect %v came back %v", collect, got.Collect)
		}
	}
}
