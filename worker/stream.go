package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/worker/sdk"
)

// Streamed responses (#17). A handler that returns an *sdk.StreamResponse
// to a synchronous call is answered in two steps: serve replies with
// event.StreamStart (status, headers, the stream's id), then
// serveStream runs the body, each Write going out as chunks of at most
// event.MaxChunk on subject.StreamData as the gateway's credits allow.
// Nothing is buffered here beyond the chunk being sent: a Write waits for
// credit, so a client that stops reading stops the producer.
//
// The call's deadline bounds the time to the first Write; after it the
// gateway bounds silence (streamIdleTimeout) and tells the worker to stop
// when its client leaves. A gateway that vanishes grants nothing more: a
// Write waiting for credit gives up after the route's streamIdleTimeout
// (sent with the first grant) or, before any grant, at the deadline.

// Causes of a stream's context ending, besides the gateway's cancel.
var (
	errFirstByte   = errors.New("the stream wrote nothing before the call's deadline")
	errStreamStall = errors.New("the gateway granted no credit within the stream's idle timeout")
)

// streamCancelled is the cause of a stream stopped by its gateway.
type streamCancelled string

func (s streamCancelled) Error() string { return "the stream was stopped by its gateway: " + string(s) }

// defaultStreamStall bounds the wait for credit when the first grant
// named no idle timeout.
const defaultStreamStall = 30 * time.Second

// streamWriter is the io.Writer of a stream's body.
type streamWriter struct {
	nc     *nats.Conn
	data   string // subject of the chunks
	ctx    context.Context
	cancel context.CancelCauseFunc

	writing sync.Mutex    // a body may write from several goroutines
	seq     uint64        // chunks sent, under writing
	started atomic.Bool   // a chunk went out (the first byte)
	credit  chan struct{} // signalled on each grant

	mu      sync.Mutex
	granted uint64
	idle    time.Duration
}

// credited takes a credit message from the gateway.
func (s *streamWriter) credited(m *nats.Msg) {
	c := event.ParseCredit(m)
	if c.Cancel != "" {
		s.cancel(streamCancelled(c.Cancel))
		return
	}
	s.mu.Lock()
	s.granted = max(s.granted, c.Total)
	if c.Idle > 0 {
		s.idle = c.Idle
	}
	s.mu.Unlock()
	select {
	case s.credit <- struct{}{}:
	default:
	}
}

// wait blocks until one more chunk may go out.
func (s *streamWriter) wait() error {
	var stall *time.Timer
	defer func() {
		if stall != nil {
			stall.Stop()
		}
	}()
	for {
		s.mu.Lock()
		ok, idle := s.seq < s.granted, s.idle
		s.mu.Unlock()
		if ok {
			return nil
		}
		var expired <-chan time.Time
		if s.seq > 0 || idle > 0 { // before any grant the deadline bounds it
			if stall == nil {
				stall = time.NewTimer(orDefault(idle, defaultStreamStall))
			}
			expired = stall.C
		}
		select {
		case <-s.credit:
		case <-expired:
			s.cancel(errStreamStall)
			return errStreamStall
		case <-s.ctx.Done():
			return context.Cause(s.ctx)
		}
	}
}

// orDefault is d, or def when d is zero.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Write sends p as one or more chunks, each once granted.
func (s *streamWriter) Write(p []byte) (int, error) {
	s.writing.Lock()
	defer s.writing.Unlock()
	n := 0
	for len(p) > 0 {
		if err := s.ctx.Err(); err != nil {
			return n, context.Cause(s.ctx)
		}
		if err := s.wait(); err != nil {
			return n, err
		}
		k := min(len(p), event.MaxChunk)
		s.seq++
		c := event.Chunk{Seq: s.seq, Data: p[:k]}
		if err := s.nc.PublishMsg(c.Msg(s.data)); err != nil {
			return n, err
		}
		s.started.Store(true)
		p, n = p[k:], n+k
	}
	return n, nil
}

// firstGrantWait bounds how long a stream that ends before writing
// anything waits for its gateway's first grant (which says the gateway
// has subscribed to the chunks).
const firstGrantWait = 10 * time.Second

// end sends the stream's last message: its end, or fe's code. It needs
// no credit (the gateway's window leaves room for it), only the first
// grant: before it the gateway may not have subscribed yet.
func (s *streamWriter) end(fe *event.Error) {
	s.writing.Lock()
	defer s.writing.Unlock()
	t := time.NewTimer(firstGrantWait)
	defer t.Stop()
	for {
		s.mu.Lock()
		granted := s.granted > 0
		s.mu.Unlock()
		if granted {
			break
		}
		select {
		case <-s.credit:
		case <-t.C:
			return // no gateway listens
		}
	}
	s.seq++
	c := event.Chunk{Seq: s.seq, End: fe == nil, Err: fe}
	_ = s.nc.PublishMsg(c.Msg(s.data))
}

// serveStream answers m, a call whose handler returned sr, with a stream
// and returns the outcome for the metrics ("ok" or an error code).
func (w *Worker) serveStream(ctx context.Context, f *function, m *nats.Msg, deadline time.Time, sr *sdk.StreamResponse) string {
	reqID := requestIDOf(ctx)
	status, fe := streamStatus(sr)
	if fe != nil {
		_ = m.RespondMsg(event.ErrorMsg(fe))
		discard(ctx, sr)
		return fe.Code
	}
	id := nuid.Next()
	data, _ := subject.StreamData(id)
	creditSubj, _ := subject.StreamCredit(id)
	// The stream outlives the call's deadline (which bounds only its
	// first byte) but keeps the call's values.
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	s := &streamWriter{nc: w.nc, data: data, ctx: sctx, cancel: cancel, credit: make(chan struct{}, 1)}
	sub, err := w.nc.Subscribe(creditSubj, s.credited)
	if err != nil {
		_ = m.RespondMsg(event.ErrorMsg(&event.Error{Code: event.CodeFunctionError, Message: "stream: " + err.Error()}))
		discard(ctx, sr)
		return event.CodeFunctionError
	}
	defer func() { _ = sub.Unsubscribe() }()
	// The subscription is made before the reply goes out on the same
	// connection, so the gateway's first grant finds it.
	if err := m.RespondMsg(event.StreamStart(&event.Reply{Status: status, Header: sr.Header}, id)); err != nil {
		w.log.Error("reply failed", "request_id", reqID, "function", f.name, "err", err)
		discard(ctx, sr)
		return event.CodeFunctionError
	}
	if !deadline.IsZero() {
		t := time.AfterFunc(time.Until(deadline), func() {
			if !s.started.Load() {
				cancel(errFirstByte)
			}
		})
		defer t.Stop()
	}
	err = runStream(sctx, sr, io.Writer(s))
	var gone streamCancelled
	switch cause := context.Cause(sctx); {
	case err == nil:
		s.end(nil)
		return "ok"
	case errors.As(cause, &gone), errors.Is(cause, errStreamStall):
		// Nobody reads it any more: nothing to tell.
		w.log.Info("stream stopped", "request_id", reqID, "function", f.name, "reason", cause.Error())
		return event.CodeFunctionError
	case errors.Is(cause, errFirstByte):
		s.end(&event.Error{Code: event.CodeTimeout, Message: cause.Error()})
		return event.CodeTimeout
	default:
		fe := errorOf(sctx, err)
		w.log.Error("function failed", "request_id", reqID, "function", f.name, "code", fe.Code, "err", fe.Message)
		s.end(fe)
		return fe.Code
	}
}

// streamStatus is sr's status (200 when unset), or why sr is invalid.
func streamStatus(sr *sdk.StreamResponse) (int, *event.Error) {
	status := sr.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 599 || sr.Body == nil {
		return 0, &event.Error{Code: event.CodeInvalidResponse, Message: fmt.Sprintf("stream with status %d and body %v", status, sr.Body != nil)}
	}
	return status, nil
}

// discard runs the body of a stream that will not be sent under a
// cancelled context, so that whatever produces it (a function process)
// is told and lets go of it.
func discard(ctx context.Context, sr *sdk.StreamResponse) {
	if sr.Body == nil {
		return
	}
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cancel()
	_ = runStream(dctx, sr, io.Discard)
}

// runStream runs sr's body into w, turning a panic into an error.
func runStream(ctx context.Context, sr *sdk.StreamResponse, w io.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &event.Error{Code: event.CodeFunctionError, Message: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
		}
	}()
	return sr.Body(ctx, w)
}

// requestIDOf is the request id of the invocation ctx runs.
func requestIDOf(ctx context.Context) string {
	i, _ := sdk.InfoFrom(ctx)
	return i.RequestID
}

// cappedBuffer keeps the first max bytes written to it and counts the rest.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// collect runs sr's body for a caller that cannot stream and returns the
// whole response with the body concatenated, keeping at most limit bytes
// of it: for an async invocation its result limit plus one byte, so
// that the record says it was truncated; for a synchronous caller NATS's
// max payload, so that a body too large is refused as any reply is.
func (w *Worker) collect(ctx context.Context, sr *sdk.StreamResponse, limit int) (*event.Reply, error) {
	status, fe := streamStatus(sr)
	if fe != nil {
		return nil, fe
	}
	b := &cappedBuffer{max: limit}
	if err := runStream(ctx, sr, b); err != nil {
		return nil, err
	}
	return &event.Reply{Status: status, Header: sr.Header, Body: b.buf.Bytes()}, nil
}
