package runtime

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// The frame protocol between the worker and a function process, on a pipe
// each way (fd 3 to the process, fd 4 from it). A frame is a uint32
// big-endian length of what follows, a type byte, a uint32 id and the body;
// a call frame puts its deadline (float64 ms since the epoch, 0 for none)
// before its body. Nothing here knows Node: bootstrap.js is one end, and a
// bootstrap in another language that speaks it can serve the same calls.
const (
	// Worker -> process
	frameCall   = 'c'
	frameReload = 'r'
	framePing   = 'p' // answer with a pong of the same id
	frameCancel = 'x' // forget call id: drop its result when it settles
	frameCredit = 'k' // stream id may have sent this many chunks (stream.go)
	// Process -> worker
	frameLoaded = 'y'
	frameResult = 'o'
	frameError  = 'e'
	frameLog    = 'l'
	framePong   = 'q'
	// A streamed response (stream.go): its start (the envelope without
	// body), its chunks, its end or failure.
	frameStream = 's'
	frameData   = 'd'
	frameEnd    = 'z'
	frameFail   = 'f'

	frameHeader = 9       // uint32 length, uint8 type, uint32 id
	maxFrame    = 1 << 30 // a longer frame means the stream is corrupt
)

// frame is a result or error frame on its way to its call.
type frame struct {
	typ  byte
	body []byte
}

// appendFrame appends one frame to b.
func appendFrame(b []byte, typ byte, id uint32, deadline float64, body []byte) []byte {
	n := 5 + len(body)
	if typ == frameCall {
		n += 8
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = append(b, typ)
	b = binary.BigEndian.AppendUint32(b, id)
	if typ == frameCall {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(deadline))
	}
	return append(b, body...)
}

// frameSizeError is a frame length no process writes: the stream is
// corrupt.
type frameSizeError uint32

func (e frameSizeError) Error() string {
	return fmt.Sprintf("protocol error: frame of %d bytes", uint32(e))
}

// errShortFrame: the stream ended inside a frame's body.
var errShortFrame = errors.New("stream ended inside a frame")

// frameReader reads the frames a process writes.
type frameReader struct {
	br  *bufio.Reader
	hdr [frameHeader]byte
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next frame. Its error is that of reading a header at
// the end of the stream, a frameSizeError, or errShortFrame.
func (r *frameReader) next() (typ byte, id uint32, body []byte, err error) {
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	n := binary.BigEndian.Uint32(r.hdr[:4])
	if n < 5 || n > maxFrame {
		return 0, 0, nil, frameSizeError(n)
	}
	body = make([]byte, n-5)
	if _, err := io.ReadFull(r.br, body); err != nil {
		return 0, 0, nil, fmt.Errorf("%w: %w", errShortFrame, err)
	}
	return r.hdr[4], binary.BigEndian.Uint32(r.hdr[5:]), body, nil
}

// outbox queues frames for one writer goroutine, so that sending never
// blocks on the process; under load many frames go in one write.
type outbox struct {
	mu    sync.Mutex
	buf   []byte // frames not yet written
	spare []byte
	wake  chan struct{}
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

// send queues a frame.
func (o *outbox) send(typ byte, id uint32, deadline float64, body []byte) {
	o.mu.Lock()
	o.buf = appendFrame(o.buf, typ, id, deadline, body)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run writes queued frames to w until stop is closed (nil) or a write fails.
// A process whose event loop is blocked stops reading; its callers time out
// meanwhile.
func (o *outbox) run(w io.Writer, stop <-chan struct{}) error {
	for {
		select {
		case <-o.wake:
		case <-stop:
			return nil
		}
		o.mu.Lock()
		buf := o.buf
		o.buf, o.spare = o.spare[:0], nil
		o.mu.Unlock()
		if len(buf) == 0 {
			continue
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		if cap(buf) <= 1<<20 { // let large events go to the GC
			o.mu.Lock()
			o.spare = buf[:0]
			o.mu.Unlock()
		}
	}
}
