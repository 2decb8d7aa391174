package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fngate/fngate/shared/event"
)

// drainWait bounds how long output written before a process exited is read
// after it exited (grandchildren may hold the pipes open).
const drainWait = time.Second

// proc is one running process of a function: its lifecycle here, and in
// their own files the frames it exchanges (frame.go), the calls waiting for
// results (calls.go), its log output (proclog.go), the probe of its event
// loop after a timeout (probe.go) and how it starts (spawn.go, the part
// that knows Node).
type proc struct {
	f       *function
	run     *run   // the start of f it belongs to
	lang    string // its Language's name, in its log lines
	cmd     *exec.Cmd
	pid     int
	started time.Time
	gen     uint64 // f.gen when spawned; reader goroutine only
	onReady func()
	// loadTimer kills the process if it does not load in time.
	loadTimer *time.Timer

	toNode, fromNode, stdout, stderr *os.File

	out   *outbox    // frames to the process
	calls *callTable // calls waiting for their result
	// streams are the streamed responses being sent (stream.go).
	streams *callTable
	probe   *probeState // the probe of the event loop after a timeout

	mu     sync.Mutex
	reason string // why we killed it
	cause  string // reason's Restart* kind

	inflight atomic.Int64
	ready    atomic.Bool // the function was loaded (or failed to load) once
	// loadErr is why the first load failed, "" if it did not; written
	// before ready (CheckLoad reads it).
	loadErr string
	killed  atomic.Bool
	gone    atomic.Bool // exited or exiting: take no more calls

	readers    sync.WaitGroup
	writerDone chan struct{}
	exited     chan struct{} // closed when cmd.Wait returned
	dead       chan struct{} // closed when the process and its goroutines are gone
	exitErr    error         // set before dead is closed
}

// usable reports whether p can take a call.
func (p *proc) usable() bool {
	return p.ready.Load() && !p.killed.Load() && !p.gone.Load() && !p.probe.suspect.Load()
}

// kill kills the process and everything it started; cause is the Restart*
// kind of reason ("" when the runtime closes).
func (p *proc) kill(cause, reason string) {
	select {
	case <-p.exited:
		return // reaped: its pid may be reused
	default:
	}
	if !p.killed.CompareAndSwap(false, true) {
		return
	}
	p.mu.Lock()
	p.reason, p.cause = reason, cause
	p.mu.Unlock()
	killGroup(p.cmd)
}

// wait reaps the process, lets the readers finish, then marks it dead.
func (p *proc) wait() {
	err := p.cmd.Wait()
	p.gone.Store(true)
	close(p.exited)
	p.loadTimer.Stop()
	// Grandchildren the function started go with it.
	killGroup(p.cmd)
	drained := make(chan struct{})
	go func() { p.readers.Wait(); close(drained) }()
	t := time.NewTimer(drainWait)
	select {
	case <-drained:
	case <-t.C:
	}
	t.Stop()
	closeAll([]*os.File{p.fromNode, p.stdout, p.stderr, p.toNode})
	<-drained
	<-p.writerDone
	p.exitErr = err
	log := p.f.rt.log
	p.mu.Lock()
	reason := p.reason
	p.mu.Unlock()
	pending := p.calls.pending()
	switch {
	case p.run.ctx.Err() != nil:
		log.Debug(p.lang+" process stopped", "function", p.f.name, "pid", p.pid)
	case reason != "":
		log.Warn(p.lang+" process killed", "function", p.f.name, "pid", p.pid, "reason", reason, "failed_invocations", pending)
	default:
		log.Error(p.lang+" process exited", "function", p.f.name, "pid", p.pid, "err", exitString(err), "failed_invocations", pending, "uptime", time.Since(p.started).Round(time.Millisecond).String())
	}
	close(p.dead)
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// restartCause says why p, now dead, is being replaced.
func (p *proc) restartCause() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cause != "" {
		return p.cause
	}
	return RestartExit
}

// deathError describes why a call's process went away.
func (p *proc) deathError() error {
	p.mu.Lock()
	reason := p.reason
	p.mu.Unlock()
	if reason == "" {
		reason = "exited: " + exitString(p.exitErr)
	} else {
		reason = "killed: " + reason
	}
	return &event.Error{Code: event.CodeFunctionError, Message: fmt.Sprintf("%s process %d of function %s %s during the call", p.lang, p.pid, p.f.name, reason)}
}

// readFrames reads the frames the process writes on fd 4.
func (p *proc) readFrames() {
	defer p.readers.Done()
	fr := newFrameReader(p.fromNode)
	for {
		typ, id, body, err := fr.next()
		if err == nil {
			p.dispatch(typ, id, body)
			continue
		}
		var size frameSizeError // escapes: declared off the hot path
		switch {
		case errors.As(err, &size):
			p.kill(RestartProtocol, size.Error())
		case errors.Is(err, errShortFrame):
		default:
			p.gone.Store(true) // it closed fd 4: exiting
		}
		return
	}
}

// writeLoop writes the frames queued for the process on fd 3.
func (p *proc) writeLoop() {
	defer close(p.writerDone)
	if err := p.out.run(p.toNode, p.exited); err != nil {
		p.kill(RestartProtocol, "write to process: "+err.Error())
	}
}

func (p *proc) dispatch(typ byte, id uint32, body []byte) {
	log := p.f.rt.log
	switch typ {
	case frameResult, frameError:
		ch := p.calls.take(id)
		if ch == nil {
			// It settled before the cancel frame reached the process.
			log.Debug("result of an abandoned invocation dropped", "function", p.f.name, "pid", p.pid, "id", id)
			return
		}
		ch <- frame{typ, body}
	case frameStream, frameData, frameEnd, frameFail:
		p.dispatchStream(typ, id, body)
	case framePong:
		p.probe.ponged(id)
	case frameLog:
		p.logFrame(body)
	case frameLoaded:
		var l struct {
			OK     bool   `json:"ok"`
			Reload bool   `json:"reload"`
			Error  string `json:"error"`
			Stack  string `json:"stack"`
			Node   string `json:"node"`
		}
		if err := json.Unmarshal(body, &l); err != nil {
			p.kill(RestartProtocol, "protocol error: bad load frame: "+err.Error())
			return
		}
		switch {
		case !l.OK:
			log.Error("function failed to load", "function", p.f.name, "dir", p.f.dir, "pid", p.pid, "err", l.Error, "stack", l.Stack)
		case l.Reload:
			log.Info("function reloaded", "function", p.f.name, "pid", p.pid)
		default:
			log.Debug("function loaded", "function", p.f.name, "pid", p.pid, "node", l.Node)
		}
		if !p.ready.Load() {
			if !l.OK {
				p.loadErr = l.Error
			}
			p.loadTimer.Stop()
			p.ready.Store(true)
			p.onReady()
			// The files changed while the process started; it may have
			// loaded the old ones.
			if g := p.f.gen.Load(); g != p.gen {
				p.gen = g
				p.out.send(frameReload, 0, 0, nil)
			}
		}
	default:
		p.kill(RestartProtocol, fmt.Sprintf("protocol error: frame type %q", typ))
	}
}

// call runs one invocation on p.
func (p *proc) call(ctx context.Context, ev []byte) (any, error) {
	ch := chanPool.Get().(chan frame)
	id := p.calls.add(ch)
	p.inflight.Add(1)
	defer p.inflight.Add(-1)
	var deadline float64
	if d, ok := ctx.Deadline(); ok {
		deadline = float64(d.UnixMilli())
	}
	p.out.send(frameCall, id, deadline, ev)
	select {
	case fr := <-ch:
		chanPool.Put(ch)
		if fr.typ == frameStream {
			return p.streamResult(id, fr)
		}
		return p.result(fr)
	case <-p.dead:
		p.calls.forget(id)
		select {
		case fr := <-ch: // answered just before it died
			return p.result(fr)
		default:
		}
		return nil, p.deathError()
	case <-ctx.Done():
		// When the result is already on its way (!pending), nothing is
		// left running to cancel or to probe for.
		pending := p.calls.forget(id)
		if !pending {
			p.abandon(id) // a stream started just now
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			if pending {
				p.out.send(frameCancel, id, 0, nil)
			}
			return nil, ctx.Err()
		}
		rid := requestID(ctx)
		if rid == "" {
			rid = eventRequestID(ev)
		}
		if pending {
			p.timedOut(id, rid)
		} else {
			p.logTimeout("function timed out; its result came just after the deadline", rid)
		}
		return nil, &event.Error{Code: event.CodeTimeout, Message: "function " + p.f.name + " did not return before the deadline"}
	}
}

// eventRequestID returns requestContext.requestId of an event, for calls
// whose ctx does not carry the worker's invocation info.
func eventRequestID(ev []byte) string {
	var e struct {
		RequestContext struct {
			RequestID string `json:"requestId"`
		} `json:"requestContext"`
	}
	_ = json.Unmarshal(ev, &e)
	return e.RequestContext.RequestID
}

// result turns a result or error frame into InvokeRaw's return values.
func (p *proc) result(fr frame) (any, error) {
	if fr.typ == frameResult {
		return json.RawMessage(fr.body), nil
	}
	var e struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Stack     string `json:"stack"`
		RequestID string `json:"rid"`
	}
	if err := json.Unmarshal(fr.body, &e); err != nil {
		return nil, &event.Error{Code: event.CodeFunctionError, Message: "bad error frame from " + p.lang + " process: " + err.Error()}
	}
	expose := p.f.rt.cfg.ExposeErrors
	switch e.Code {
	case event.CodeLoadError:
		if !expose {
			e.Message = "function " + p.f.name + " failed to load (see the worker log)"
		}
		return nil, &event.Error{Code: event.CodeLoadError, Message: e.Message}
	case event.CodeInvalidResponse:
		return nil, &event.Error{Code: event.CodeInvalidResponse, Message: "result is not JSON: " + e.Message}
	case event.CodeInvalidEvent:
		return nil, &event.Error{Code: event.CodeInvalidEvent, Message: e.Message}
	default:
		p.f.rt.log.Error("function threw", "function", p.f.name, "request_id", e.RequestID, "err", e.Message, "stack", e.Stack)
		if !expose {
			e.Message = "function " + p.f.name + " threw an error (see the worker log)"
		}
		return nil, &event.Error{Code: event.CodeFunctionError, Message: e.Message}
	}
}
