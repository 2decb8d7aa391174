package runtime

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// probeState is what a process knows of the probe of its event loop that
// follows a timeout; see timedOut.
type probeState struct {
	mu        sync.Mutex
	probing   bool        // a probe goroutine runs
	abandoned []abandoned // timed-out calls its next ping covers
	verdict   string      // set when a probe found the process blocked or gone

	seq     uint32      // the probe goroutine only
	pong    chan uint32 // ids of pongs, to the probe goroutine
	suspect atomic.Bool // a probe runs: take no new calls until it ends
}

func newProbeState() *probeState { return &probeState{pong: make(chan uint32, 1)} }

// abandoned is a call that timed out while it still ran in the process.
type abandoned struct {
	id  uint32
	rid string
}

// ponged hands the id of a pong frame to the probe waiting for it.
func (s *probeState) ponged(id uint32) {
	select {
	case s.pong <- id:
	default: // a stale pong nobody waits for
	}
}

// timedOut handles call id, which passed its deadline while still running
// in the process. Either its promise never settles while the event loop is
// free, and the process must keep serving its other calls, or it blocks the
// event loop (a busy loop), and only a new process will answer. A probe
// tells which: it pings the process through its event loop. One probe runs
// at a time per process; calls that time out meanwhile wait for its next
// ping. The process takes no new calls while a probe runs.
func (p *proc) timedOut(id uint32, rid string) {
	s := p.probe
	s.mu.Lock()
	if verdict := s.verdict; verdict != "" {
		// A probe already found the process blocked or gone.
		s.mu.Unlock()
		p.logTimeout(verdict, rid)
		return
	}
	s.abandoned = append(s.abandoned, abandoned{id, rid})
	start := !s.probing
	if start {
		s.probing = true
		s.suspect.Store(true)
	}
	s.mu.Unlock()
	if start {
		go p.runProbe()
	}
}

// What a probe found, as logged for each call that timed out.
const (
	verdictAlive   = "function timed out; its invocation is abandoned, its process keeps serving"
	verdictBlocked = "function timed out; the event loop of its process is blocked, the process is replaced"
	verdictGone    = "function timed out; its process exited meanwhile"
)

func (p *proc) logTimeout(verdict, rid string) {
	p.f.rt.log.Warn(verdict, "function", p.f.name, "request_id", rid, "pid", p.pid)
}

// runProbe pings the process for the calls abandoned since the last ping
// until none is left. A process that answers within the grace keeps running
// and forgets the calls; one that does not is killed.
func (p *proc) runProbe() {
	s := p.probe
	grace := p.f.rt.cfg.ProbeGrace
	for {
		s.mu.Lock()
		batch := s.abandoned
		s.abandoned = nil
		if len(batch) == 0 {
			s.probing = false
			s.suspect.Store(false)
		}
		s.mu.Unlock()
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
				p.out.send(frameCancel, a.id, 0, nil)
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
		s.mu.Lock()
		s.verdict = verdict
		batch = append(batch, s.abandoned...)
		s.abandoned = nil
		s.mu.Unlock()
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
	s := p.probe
	s.seq++
	seq := s.seq
	p.out.send(framePing, seq, 0, nil)
	t := time.NewTimer(grace)
	defer t.Stop()
	for {
		select {
		case id := <-s.pong:
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
