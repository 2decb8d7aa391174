package node

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fngate/fngate/shared/event"
)

// Frame types; see bootstrap.js for the protocol.
const (
	// Go -> Node
	frameCall   = 'c'
	frameReload = 'r'
	framePing   = 'p' // answer with a pong of the same id
	frameCancel = 'x' // forget call id: drop its result when it settles
	// Node -> Go
	frameLoaded = 'y'
	frameResult = 'o'
	frameError  = 'e'
	frameLog    = 'l'
	framePong   = 'q'

	frameHeader = 9       // uint32 length, uint8 type, uint32 id
	maxFrame    = 1 << 30 // a longer frame means the stream is corrupt
	// drainWait bounds how long output written before a process exited is
	// read after it exited (grandchildren may hold the pipes open).
	drainWait = time.Second
)

// proc is one running Node process of a function.
type proc struct {
	f       *function
	cmd     *exec.Cmd
	pid     int
	started time.Time
	gen     uint64 // f.gen when spawned; reader goroutine only
	onReady func()
	// loadTimer kills the process if it does not load in time.
	loadTimer *time.Timer

	toNode, fromNode, stdout, stderr *os.File

	wmu   sync.Mutex
	wbuf  []byte // frames not yet written
	spare []byte
	wake  chan struct{}

	mu     sync.Mutex
	calls  map[uint32]chan frame
	nextID uint32
	reason string // why we killed it
	cause  string // reason's Restart* kind
	// Probing the event loop after a timeout; see timedOut.
	probing   bool        // a probe goroutine runs
	abandoned []abandoned // timed-out calls its next ping covers
	verdict   string      // set when a probe found the process blocked or gone

	pingSeq uint32      // the probe goroutine only
	pong    chan uint32 // ids of pongs, to the probe goroutine
	suspect atomic.Bool // a probe runs: take no new calls until it ends

	inflight atomic.Int64
	ready    atomic.Bool // the function was loaded (or failed to load) once
	killed   atomic.Bool
	gone     atomic.Bool // exited or exiting: take no more calls

	readers    sync.WaitGroup
	writerDone chan struct{}
	exited     chan struct{} // closed when cmd.Wait returned
	dead       chan struct{} // closed when the process and its goroutines are gone
	exitErr    error         // set before dead is closed
}

// abandoned is a call that timed out while it still ran in the process.
type abandoned struct {
	id  uint32
	rid string
}

type frame struct {
	typ  byte
	body []byte
}

var chanPool = sync.Pool{New: func() any { return make(chan frame, 1) }}

// spawn starts a process for slot i of f.
func (f *function) spawn(i int) (p *proc, err error) {
	cfg := f.rt.cfg
	fc, _, err := readConfig(f.dir)
	if err != nil {
		return nil, err
	}
	var files []*os.File // closed on failure
	pipe := func() (r, w *os.File) {
		if err != nil {
			return nil, nil
		}
		r, w, err = os.Pipe()
		files = append(files, r, w)
		return r, w
	}
	cmdIn, toNode := pipe()
	fromNode, cmdOut := pipe()
	stdout, outW := pipe()
	stderr, errW := pipe()
	if err != nil {
		closeAll(files)
		return nil, err
	}
	// The bootstrap's own settings are arguments, which it takes out of
	// process.argv before the function loads: the environment is the
	// function's alone.
	cmd := exec.Command(cfg.Node,
		"--max-old-space-size="+strconv.Itoa(cfg.MaxOldSpaceMB),
		"--title=fngate-node:"+f.name,
		"-e", bootstrap,
		f.dir, f.name, strconv.Itoa(cfg.MaxOldSpaceMB))
	cmd.Dir = f.dir
	cmd.Env = functionEnv(cfg.Environ, cfg.PassEnv, f.home, fc.Env)
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = []*os.File{cmdIn, cmdOut} // fd 3 and fd 4
	cmd.SysProcAttr = sysProcAttr(f.uid)
	gen := f.gen.Load()
	err = cmd.Start()
	closeAll([]*os.File{cmdIn, cmdOut, outW, errW}) // the child's ends
	if err != nil {
		closeAll([]*os.File{toNode, fromNode, stdout, stderr})
		return nil, fmt.Errorf("start %s: %w", cfg.Node, err)
	}
	if h := cfg.hooks; h != nil && h.spawned != nil {
		h.spawned(f.name, cmd.Process.Pid)
	}
	p = &proc{
		f: f, cmd: cmd, pid: cmd.Process.Pid, started: time.Now(), gen: gen,
		toNode: toNode, fromNode: fromNode, stdout: stdout, stderr: stderr,
		wake: make(chan struct{}, 1), calls: make(map[uint32]chan frame), pong: make(chan uint32, 1),
		writerDone: make(chan struct{}), exited: make(chan struct{}), dead: make(chan struct{}),
	}
	p.onReady = func() {
		f.mu.Lock()
		f.slots[i].failing = false
		f.notify()
		f.mu.Unlock()
		f.settle(i)
	}
	loadTimeout := cfg.loadTimeout()
	p.loadTimer = time.AfterFunc(loadTimeout, func() {
		if !p.ready.Load() {
			p.kill(RestartLoadTimeout, fmt.Sprintf("function did not load within %s", loadTimeout))
		}
	})
	f.rt.log.Debug("node process started", "function", f.name, "pid", p.pid)
	p.readers.Add(3)
	go p.readFrames()
	go p.readLines(stdout, "stdout", slog.LevelInfo)
	go p.readLines(stderr, "stderr", slog.LevelWarn)
	go p.writeLoop()
	go p.wait()
	return p, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
		}
	}
}

// usable reports whether p can take a call.
func (p *proc) usable() bool {
	return p.ready.Load() && !p.killed.Load() && !p.gone.Load() && !p.suspect.Load()
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
	reason, pending := p.reason, len(p.calls)
	p.mu.Unlock()
	switch {
	case p.f.rt.ctx.Err() != nil:
		log.Debug("node process stopped", "function", p.f.name, "pid", p.pid)
	case reason != "":
		log.Warn("node process killed", "function", p.f.name, "pid", p.pid, "reason", reason, "failed_invocations", pending)
	default:
		log.Error("node process exited", "function", p.f.name, "pid", p.pid, "err", exitString(err), "failed_invocations", pending, "uptime", time.Since(p.started).Round(time.Millisecond).String())
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
	return &event.Error{Code: event.CodeFunctionError, Message: fmt.Sprintf("node process %d of function %s %s during the call", p.pid, p.f.name, reason)}
}

// send queues a frame for the writer. It never blocks on the process.
func (p *proc) send(typ byte, id uint32, deadline float64, body []byte) {
	n := 5 + len(body)
	if typ == frameCall {
		n += 8
	}
	p.wmu.Lock()
	b := binary.BigEndian.AppendUint32(p.wbuf, uint32(n))
	b = append(b, typ)
	b = binary.BigEndian.AppendUint32(b, id)
	if typ == frameCall {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(deadline))
	}
	p.wbuf = append(b, body...)
	p.wmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// writeLoop writes queued frames, many per write under load. A process whose
// event loop is blocked stops reading; its callers time out meanwhile.
func (p *proc) writeLoop() {
	defer close(p.writerDone)
	for {
		select {
		case <-p.wake:
		case <-p.exited:
			return
		}
		p.wmu.Lock()
		buf := p.wbuf
		p.wbuf, p.spare = p.spare[:0], nil
		p.wmu.Unlock()
		if len(buf) == 0 {
			continue
		}
		if _, err := p.toNode.Write(buf); err != nil {
			p.kill(RestartProtocol, "write to process: "+err.Error())
			return
		}
		if cap(buf) <= 1<<20 { // let large events go to the GC
			p.wmu.Lock()
			p.spare = buf[:0]
			p.wmu.Unlock()
		}
	}
}

// readFrames reads the frames the process writes on fd 4.
func (p *proc) readFrames() {
	defer p.readers.Done()
	br := bufio.NewReaderSize(p.fromNode, 64<<10)
	var hdr [frameHeader]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			p.gone.Store(true) // it closed fd 4: exiting
			return
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if n < 5 || n > maxFrame {
			p.kill(RestartProtocol, fmt.Sprintf("protocol error: frame of %d bytes", n))
			return
		}
		body := make([]byte, n-5)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		p.dispatch(hdr[4], binary.BigEndian.Uint32(hdr[5:]), body)
	}
}

func (p *proc) dispatch(typ byte, id uint32, body []byte) {
	log := p.f.rt.log
	switch typ {
	case frameResult, frameError:
		p.mu.Lock()
		ch := p.calls[id]
		delete(p.calls, id)
		p.mu.Unlock()
		if ch == nil {
			// It settled before the cancel frame reached the process.
			log.Debug("result of an abandoned invocation dropped", "function", p.f.name, "pid", p.pid, "id", id)
			return
		}
		ch <- frame{typ, body}
	case framePong:
		select {
		case p.pong <- id:
		default: // a stale pong nobody waits for
		}
	case frameLog:
		var l struct {
			RequestID string `json:"r"`
			Stream    string `json:"s"`
			Text      string `json:"m"`
		}
		if err := json.Unmarshal(body, &l); err != nil {
			log.Warn("bad log frame from node process", "function", p.f.name, "pid", p.pid, "err", err)
			return
		}
		attrs := []slog.Attr{slog.String("function", p.f.name), slog.String("stream", l.Stream)}
		if l.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", l.RequestID))
		}
		log.LogAttrs(context.Background(), consoleLevel(l.Stream), l.Text, attrs...)
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
			p.loadTimer.Stop()
			p.ready.Store(true)
			p.onReady()
			// The files changed while the process started; it may have
			// loaded the old ones.
			if g := p.f.gen.Load(); g != p.gen {
				p.gen = g
				p.send(frameReload, 0, 0, nil)
			}
		}
	default:
		p.kill(RestartProtocol, fmt.Sprintf("protocol error: frame type %q", typ))
	}
}

func consoleLevel(stream string) slog.Level {
	switch stream {
	case "error":
		return slog.LevelError
	case "warn":
		return slog.LevelWarn
	case "debug":
		return slog.LevelDebug
	default:
		return slog.LevelInfo
	}
}

// readLines logs what the process writes to its stdout or stderr, a line at
// a time.
func (p *proc) readLines(r *os.File, stream string, level slog.Level) {
	defer p.readers.Done()
	br := bufio.NewReaderSize(r, 16<<10)
	for {
		line, err := br.ReadSlice('\n')
		if n := len(line); n > 0 {
			if line[n-1] == '\n' {
				n--
				if n > 0 && line[n-1] == '\r' {
					n--
				}
			}
			p.f.rt.log.Log(context.Background(), level, string(line[:n]), "function", p.f.name, "stream", stream, "pid", p.pid)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// call runs one invocation on p.
func (p *proc) call(ctx context.Context, ev []byte) (any, error) {
	ch := chanPool.Get().(chan frame)
	p.mu.Lock()
	p.nextID++
	if p.nextID == 0 {
		p.nextID++
	}
	id := p.nextID
	p.calls[id] = ch
	p.mu.Unlock()
	p.inflight.Add(1)
	defer p.inflight.Add(-1)
	var deadline float64
	if d, ok := ctx.Deadline(); ok {
		deadline = float64(d.UnixMilli())
	}
	p.send(frameCall, id, deadline, ev)
	select {
	case fr := <-ch:
		chanPool.Put(ch)
		return p.result(fr)
	case <-p.dead:
		p.forget(id)
		select {
		case fr := <-ch: // answered just before it died
			return p.result(fr)
		default:
		}
		return nil, p.deathError()
	case <-ctx.Done():
		// When the result is already on its way (!pending), nothing is
		// left running to cancel or to probe for.
		pending := p.forget(id)
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			if pending {
				p.send(frameCancel, id, 0, nil)
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

// forget drops call id and reports whether it was still waiting for its
// result.
func (p *proc) forget(id uint32) bool {
	p.mu.Lock()
	_, ok := p.calls[id]
	delete(p.calls, id)
	p.mu.Unlock()
	return ok
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

// timedOut handles call id, which passed its deadline while still running
// in the process. Either its promise never settles while the event loop is
// free, and the process must keep serving its other calls, or it blocks the
// event loop (a busy loop), and only a new process will answer. A probe
// tells which: it pings the process through its event loop. One probe runs
// at a time per process; calls that time out meanwhile wait for its next
// ping. The process takes no new calls while a probe runs.
func (p *proc) timedOut(id uint32, rid string) {
	p.mu.Lock()
	if verdict := p.verdict; verdict != "" {
		// A probe already found the process blocked or gone.
		p.mu.Unlock()
		p.logTimeout(verdict, rid)
		return
	}
	p.abandoned = append(p.abandoned, abandoned{id, rid})
	start := !p.probing
	if start {
		p.probing = true
		p.suspect.Store(true)
	}
	p.mu.Unlock()
	if start {
		go p.probe()
	}
}

// What a probe found, as logged for each call that timed out.
const (
	verdictAlive   = "function timed out; its invocation is abandoned, its node process keeps serving"
	verdictBlocked = "function timed out; the event loop of its node process is blocked, the process is replaced"
	verdictGone    = "function timed out; its node process exited meanwhile"
)

func (p *proc) logTimeout(verdict, rid string) {
	p.f.rt.log.Warn(verdict, "function", p.f.name, "request_id", rid, "pid", p.pid)
}

// probe pings the process for the calls abandoned since the last ping until
// none is left. A process that answers within the grace keeps running and
// forgets the calls; one that does not is killed.
func (p *proc) probe() {
	grace := p.f.rt.cfg.ProbeGrace
	for {
		p.mu.Lock()
		batch := p.abandoned
		p.abandoned = nil
		if len(batch) == 0 {
			p.probing = false
			p.suspect.Store(false)
		}
		p.mu.Unlock()
		if len(batch) == 0 {
			f := p.f
			f.mu.Lock()
			f.notify() // p is usable again
			f.mu.Unlock()
			return
		}
		if h := p.f.rt.cfg.hooks; h != nil && h.pinged != nil {
			h.pinged(p.pid)
		}
		state := p.ping(grace)
		if state == loopAlive {
			for _, a := range batch {
				p.send(frameCancel, a.id, 0, nil)
				p.logTimeout(verdictAlive, a.rid)
			}
			continue
		}
		// The process is done for: suspect and probing stay set, and calls
		// that time out later are only logged.
		verdict := verdictGone
		if state == loopBlocked {
			verdict = verdictBlocked
		}
		p.mu.Lock()
		p.verdict = verdict
		batch = append(batch, p.abandoned...)
		p.abandoned = nil
		p.mu.Unlock()
		for _, a := range batch {
			p.logTimeout(verdict, a.rid)
		}
		if state == loopBlocked {
			p.kill(RestartUnresponsive, fmt.Sprintf("invocation %s timed out and the event loop did not answer a ping within %s", batch[0].rid, grace))
		}
		return
	}
}

type loopState int

const (
	loopAlive loopState = iota
	loopBlocked
	loopGone
)

// ping sends a ping frame and waits up to grace for its pong. The bootstrap
// answers pings as it reads them, which it does only while its event loop
// turns.
func (p *proc) ping(grace time.Duration) loopState {
	p.pingSeq++
	seq := p.pingSeq
	p.send(framePing, seq, 0, nil)
	t := time.NewTimer(grace)
	defer t.Stop()
	for {
		select {
		case id := <-p.pong:
			if id == seq {
				return loopAlive
			}
		case <-t.C:
			return loopBlocked
		case <-p.exited:
			return loopGone
		}
	}
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
		return nil, &event.Error{Code: event.CodeFunctionError, Message: "bad error frame from node process: " + err.Error()}
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
