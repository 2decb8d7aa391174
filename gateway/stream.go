package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/subject"
)

// Streamed responses (#17). A worker whose function streams answers the
// call with event.StreamStart; serve hands that reply to stream, which
// subscribes to the stream's chunks, grants the worker credit for
// streamWindow chunks ahead and writes each chunk to the client as it
// comes, flushed (chunked transfer; text/event-stream is thus
// unbuffered). A chunk is granted again only once it has been written:
// a client that stops reading stops the worker's producer, and a stream
// holds at most streamWindow chunks (event.MaxChunk bytes each) here.
// An ordinary call pays one header lookup (event.StreamOf) for all this.

// Errors of a stream that the client sees when they come before its
// first byte (later, the response is cut short: the connection closes
// without the chunked encoding's last chunk, and the gateway logs why).
var (
	ErrStreamIdle   = errors.New("the function's stream was silent longer than the route's streamIdleTimeout")
	ErrStreamBroken = errors.New("a chunk of the function's stream was lost")
)

// streamWindow is how many chunks a worker may send ahead of the client.
const streamWindow = 16

// chanSubscriber is the part of *nats.Conn a stream needs beyond the
// Requester: only a gateway that serves streams uses it.
type chanSubscriber interface {
	ChanSubscribe(subj string, ch chan *nats.Msg) (*nats.Subscription, error)
}

// streamState is one stream being relayed.
type streamState struct {
	g *Gateway
	// The exchange's parts: holding the exchange itself would move every
	// call's exchange to the heap.
	c            *gin.Context
	reqID, label string
	credit       string // subject of the credits
	granted      uint64
	seq          uint64
	started      bool // the status line went out
	gone         bool // the client left
	cut          bool // failed after the first byte
}

// grant sends the worker credit up to total (and the idle timeout, on the
// first grant).
func (s *streamState) grant(total uint64, idle time.Duration) {
	s.granted = total
	c := event.Credit{Total: total, Idle: idle}
	_ = s.g.nats.PublishMsg(c.Msg(s.credit))
}

// stop tells the worker to stop the stream (the function's context ends).
func (s *streamState) stop(reason string) {
	c := event.Credit{Total: s.granted, Cancel: reason}
	_ = s.g.nats.PublishMsg(c.Msg(s.credit))
}

// stream relays stream id, whose start is the worker's reply start, to
// the client. Until the first chunk the call's deadline bounds the wait;
// then idle bounds each silence and each write to the client.
func (g *Gateway) stream(c *gin.Context, reqID, label string, start *nats.Msg, id string, idle time.Duration, deadline time.Time) response {
	data, err := subject.StreamData(id)
	if err != nil {
		return failed(&event.Error{Code: event.CodeInvalidResponse, Message: "invalid stream id"})
	}
	credit, _ := subject.StreamCredit(id)
	s := &streamState{g: g, c: c, reqID: reqID, label: label, credit: credit}
	sub, ok := g.nats.(chanSubscriber)
	if !ok {
		s.stop("this gateway cannot subscribe to streams")
		return failed(&event.Error{Code: event.CodeInvalidResponse, Message: "streamed response on a gateway without subscriptions"})
	}
	// The worker sends at most the window plus its last message.
	msgs := make(chan *nats.Msg, streamWindow+2)
	ss, err := sub.ChanSubscribe(data, msgs)
	if err != nil {
		s.stop("gateway could not subscribe")
		return failed(err)
	}
	defer func() { _ = ss.Unsubscribe() }()
	head := http.Header{}
	status, _, err := event.ParseReply(start, head)
	if err != nil {
		s.stop("invalid start")
		return failed(err)
	}
	// The subscription precedes the grant on this connection, so the
	// worker's first chunk finds it.
	s.grant(streamWindow, idle)
	res := s.relay(msgs, status, head, idle, deadline)
	end := "complete"
	switch {
	case res.err != nil:
		end = "failed"
	case s.cut:
		end = "cut_short"
	case s.gone:
		end = "client_gone"
	}
	g.metrics.streams.WithLabelValues(end).Inc()
	return res
}

// relay writes the chunks arriving on msgs to the client until the end.
func (s *streamState) relay(msgs chan *nats.Msg, status int, head http.Header, idle time.Duration, deadline time.Time) response {
	ctx := s.c.Request.Context()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case m := <-msgs:
			ch, err := event.ParseChunk(m)
			if err == nil && ch.Seq != s.seq+1 {
				err = ErrStreamBroken
			}
			if err != nil {
				s.stop("lost chunk")
				return s.fail(ErrStreamBroken)
			}
			s.seq = ch.Seq
			if ch.Err != nil {
				return s.fail(ch.Err)
			}
			if !s.started {
				s.writeHead(status, head)
			}
			if len(ch.Data) > 0 && !s.write(ch.Data, idle) {
				s.stop("client write failed")
				s.gone = true
				return response{streamed: true}
			}
			if ch.End {
				return response{streamed: true}
			}
			if s.granted-s.seq <= streamWindow/2 {
				s.grant(s.seq+streamWindow, 0)
			}
			timer.Reset(idle)
		case <-timer.C:
			if !s.started {
				s.stop("no first byte before the deadline")
				return failed(&event.Error{Code: event.CodeTimeout, Message: "the stream sent nothing before the deadline"})
			}
			s.stop("idle")
			return s.fail(ErrStreamIdle)
		case <-ctx.Done():
			s.stop("client gone")
			s.gone = true
			return response{streamed: true}
		}
	}
}

// writeHead sends the status line and headers of the stream.
func (s *streamState) writeHead(status int, head http.Header) {
	s.started = true
	h := s.c.Writer.Header()
	for k, vs := range head {
		h[k] = vs
	}
	h[HeaderRequestID] = []string{s.reqID}
	delete(h, "Content-Length") // chunked: the length is not known
	h["X-Accel-Buffering"] = []string{"no"}
	s.c.Writer.WriteHeader(status)
}

// write sends one chunk to the client and flushes it; a client that does
// not take it within idle has stalled. It reports success.
func (s *streamState) write(b []byte, idle time.Duration) bool {
	rc := http.NewResponseController(s.c.Writer)
	// Also lifts the server's WriteTimeout, which bounds whole exchanges:
	// a stream lasts as long as it moves.
	_ = rc.SetWriteDeadline(time.Now().Add(idle))
	if _, err := s.c.Writer.Write(b); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// fail ends a stream that failed with err: before its first byte the
// client gets err's error response; after it the connection is closed
// without the last chunk, so the client sees a response cut short.
func (s *streamState) fail(err error) response {
	if !s.started {
		return failed(err)
	}
	s.cut = true
	s.g.log.Warn("stream cut short", "request_id", s.reqID, "route", s.label, "chunks", strconv.FormatUint(s.seq, 10), "err", err)
	// gin refuses to hijack once a body was written; the server's own
	// writer does not.
	var w http.ResponseWriter = s.c.Writer
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		w = u.Unwrap()
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
	return response{streamed: true}
}
