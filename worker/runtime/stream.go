package runtime

import (
	"context"
	"io"
	"strconv"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/worker/sdk"
)

// Streamed responses of a function process (#17). A function that
// returns {statusCode, headers, body} whose body is an async iterable (an
// async generator, a Node Readable) settles its call with a stream start
// frame (the envelope without body) instead of a result; then the body's
// chunks come as data frames, at most event.MaxChunk bytes each, and an
// end or failure frame. The process sends only as many data frames as
// the worker granted with credit frames (a count from the first), and the
// worker grants them as it passes chunks on to the gateway, which grants
// as its client reads: a client that stops reading stops the generator
// being pulled. A cancel frame stops the stream and aborts
// context.signal.

// procWindow is how many chunks a process may send ahead of the worker.
const procWindow = 8

// dispatchStream handles the stream frames of the reader goroutine.
func (p *proc) dispatchStream(typ byte, id uint32, body []byte) {
	if typ == frameStream {
		// Registered before the call is taken: a call that stops waiting
		// in between finds it to abandon.
		p.streams.put(id, make(chan frame, procWindow+1))
		ch := p.calls.take(id)
		if ch == nil { // nobody waits for it any more
			p.abandon(id)
			return
		}
		ch <- frame{typ, body}
		return
	}
	ch := p.streams.get(id)
	if ch == nil {
		return // stopped: its frames still in flight are dropped
	}
	select {
	case ch <- frame{typ, body}:
	default:
		p.kill(RestartProtocol, "protocol error: stream chunks beyond the credit")
	}
}

// abandon stops stream id, whose start came for a call that stopped
// waiting.
func (p *proc) abandon(id uint32) {
	if p.streams.take(id) != nil {
		p.out.send(frameCancel, id, 0, nil)
	}
}

// streamResult is the StreamResponse of call id's stream start frame.
func (p *proc) streamResult(id uint32, fr frame) (any, error) {
	head, err := event.FromValue(fr.body)
	if err != nil {
		p.abandon(id)
		return nil, err
	}
	// The stream counts as a call of its function until it ends, so that
	// the function (and the process sending it) is not evicted or stopped
	// meanwhile. The worker runs every stream's body once (a stream it
	// cannot send, with a cancelled context), which ends it.
	p.f.mu.Lock()
	p.f.active++
	p.f.mu.Unlock()
	return &sdk.StreamResponse{StatusCode: head.Status, Header: head.Header, Body: func(ctx context.Context, w io.Writer) error {
		defer p.f.end()
		return p.pump(ctx, id, w)
	}}, nil
}

// pump passes stream id's chunks to w, granting the process one more for
// each passed on.
func (p *proc) pump(ctx context.Context, id uint32, w io.Writer) error {
	ch := p.streams.get(id)
	if ch == nil {
		return &event.Error{Code: event.CodeFunctionError, Message: "stream of function " + p.f.name + " is gone"}
	}
	defer p.streams.take(id)
	granted, passed := uint64(procWindow), uint64(0)
	p.out.send(frameCredit, id, 0, strconv.AppendUint(nil, granted, 10))
	for {
		select {
		case fr := <-ch:
			switch fr.typ {
			case frameData:
				if _, err := w.Write(fr.body); err != nil {
					p.out.send(frameCancel, id, 0, nil)
					return err
				}
				passed++
				if granted-passed <= procWindow/2 {
					granted = passed + procWindow
					p.out.send(frameCredit, id, 0, strconv.AppendUint(nil, granted, 10))
				}
			case frameEnd:
				return nil
			default: // frameFail
				_, err := p.result(frame{frameError, fr.body})
				return err
			}
		case <-p.dead:
			return p.deathError()
		case <-ctx.Done():
			p.out.send(frameCancel, id, 0, nil)
			return context.Cause(ctx)
		}
	}
}
