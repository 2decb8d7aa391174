package event

import (
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// The messages of a streamed response (#17). A worker answers a call
// whose function streams with [StreamStart] (status and headers, no
// body) on the call's reply subject; then each [Chunk] goes to
// subject.StreamData, numbered, the last one marked End or carrying Err.
// The gateway grants chunks with [Credit] messages on
// subject.StreamCredit: a worker never has more chunks out than granted,
// so a client that stops reading stops the function's producer instead of
// filling buffers.

// MaxChunk is the most bytes one chunk message carries; a larger write is
// split. With the gateway's window it bounds what a stream buffers.
const MaxChunk = 32 << 10

// StreamStart is the first reply of a streaming function: r's status and
// headers (r.Body is ignored) and the stream's id.
func StreamStart(r *Reply, id string) *nats.Msg {
	m := (&Reply{Status: r.Status, Header: r.Header}).Msg()
	if m.Header == nil { // a compact reply has none; a start never is compact
		m.Header = nats.Header{}
	}
	m.Header[HeaderStream] = []string{id}
	return m
}

// StreamOf is the stream id of a reply, "" for a whole response. It is a
// map lookup and allocates nothing: the gateway asks every reply.
func StreamOf(m *nats.Msg) string {
	if m == nil {
		return ""
	}
	return first(m.Header, HeaderStream)
}

// Chunk is one message of a stream.
type Chunk struct {
	Seq  uint64
	Data []byte
	End  bool   // the stream ended well after Data
	Err  *Error // the stream failed; Data is empty
}

// ErrBadChunk reports a stream message without a sequence number.
var ErrBadChunk = errors.New("event: message is not a stream chunk")

// Msg encodes c for subject subj.
func (c *Chunk) Msg(subj string) *nats.Msg {
	h := nats.Header{HeaderStreamSeq: {strconv.FormatUint(c.Seq, 10)}}
	data := c.Data
	switch {
	case c.Err != nil:
		h[HeaderError] = []string{c.Err.Code}
		data = []byte(c.Err.Message)
	case c.End:
		h[HeaderStreamEnd] = []string{"1"}
	}
	return &nats.Msg{Subject: subj, Header: h, Data: data}
}

// ParseChunk decodes a stream message.
func ParseChunk(m *nats.Msg) (Chunk, error) {
	seq, err := strconv.ParseUint(first(m.Header, HeaderStreamSeq), 10, 64)
	if err != nil || seq == 0 {
		return Chunk{}, ErrBadChunk
	}
	c := Chunk{Seq: seq, End: first(m.Header, HeaderStreamEnd) != ""}
	if code := ErrorCode(m); code != "" {
		c.Err = &Error{Code: code, Message: string(m.Data)}
		return c, nil
	}
	c.Data = m.Data
	return c, nil
}

// Credit is a gateway's message to the worker of a stream.
type Credit struct {
	// Total is how many chunks the worker may have sent in all.
	Total uint64
	// Idle is the route's streamIdleTimeout (on the first grant, else 0).
	Idle time.Duration
	// Cancel, when not empty, stops the stream; it says why.
	Cancel string
}

// Msg encodes c for subject subj.
func (c *Credit) Msg(subj string) *nats.Msg {
	h := nats.Header{HeaderStreamCredit: {strconv.FormatUint(c.Total, 10)}}
	if c.Idle > 0 {
		h[HeaderStreamIdle] = []string{strconv.FormatInt(c.Idle.Milliseconds(), 10)}
	}
	if c.Cancel != "" {
		h[HeaderStreamCancel] = []string{c.Cancel}
	}
	return &nats.Msg{Subject: subj, Header: h}
}

// ParseCredit decodes a credit message; missing values are zero.
func ParseCredit(m *nats.Msg) Credit {
	c := Credit{Cancel: first(m.Header, HeaderStreamCancel)}
	c.Total, _ = strconv.ParseUint(first(m.Header, HeaderStreamCredit), 10, 64)
	if ms, err := strconv.ParseInt(first(m.Header, HeaderStreamIdle), 10, 64); err == nil && ms > 0 {
		c.Idle = time.Duration(ms) * time.Millisecond
	}
	return c
}
