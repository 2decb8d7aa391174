package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
	"time"
)

// TestFrameRoundTrip: frames appended one after another read back whole, in
// order; a call frame carries its deadline before its body.
func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	type fr struct {
		typ      byte
		id       uint32
		deadline float64
		body     string
	}
	in := []fr{
		{frameCall, 1, 1.7e12, `{"path":"/"}`},
		{frameCall, math.MaxUint32, 0, ""},
		{frameCancel, 7, 0, ""},
		{framePing, 3, 0, ""},
		{frameResult, 1, 0, `{"ok":true}`},
		{frameReload, 0, 0, ""},
	}
	var b []byte
	for _, f := range in {
		b = appendFrame(b, f.typ, f.id, f.deadline, []byte(f.body))
	}
	r := newFrameReader(bytes.NewReader(b))
	for i, want := range in {
		typ, id, body, err := r.next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		got := fr{typ: typ, id: id}
		if typ == frameCall {
			if len(body) < 8 {
				t.Fatalf("frame %d: call body of %d bytes has no deadline", i, len(body))
			}
			got.deadline = math.Float64frombits(binary.BigEndian.Uint64(body))
			body = body[8:]
		}
		got.body = string(body)
		if got != want {
			t.Fatalf("frame %d = %+v, want %+v", i, got, want)
		}
	}
	if _, _, _, err := r.next(); err != io.EOF {
		t.Fatalf("after the last frame: err = %v, want EOF", err)
	}
}

// TestFrameReaderErrors: a length no process writes is a frameSizeError; a
// stream that ends inside a body is errShortFrame; one that ends inside a
// header is the reader's own error.
func TestFrameReaderErrors(t *testing.T) {
	t.Parallel()
	header := func(n uint32) []byte {
		return binary.BigEndian.AppendUint32(nil, n)
	}
	for name, c := range map[string]struct {
		in   []byte
		size uint32 // want a frameSizeError of this size
		want error
	}{
		"too short":      {in: append(header(4), frameResult, 0, 0, 0, 1), size: 4},
		"too long":       {in: append(header(maxFrame+1), frameResult, 0, 0, 0, 1), size: maxFrame + 1},
		"body cut":       {in: append(header(10), frameResult, 0, 0, 0, 1, 'a'), want: errShortFrame},
		"header cut":     {in: header(10)[:3], want: io.ErrUnexpectedEOF},
		"empty":          {in: nil, want: io.EOF},
		"largest header": {in: append(header(5), framePong, 0, 0, 0, 9)},
	} {
		_, id, body, err := newFrameReader(bytes.NewReader(c.in)).next()
		var size frameSizeError
		switch {
		case c.size != 0:
			if !errors.As(err, &size) || uint32(size) != c.size {
				t.Errorf("%s: err = %v, want a frame of %d bytes", name, err, c.size)
			}
		case c.want != nil:
			if !errors.Is(err, c.want) {
				t.Errorf("%s: err = %v, want %v", name, err, c.want)
			}
		case err != nil || id != 9 || len(body) != 0:
			t.Errorf("%s: id %d, body %q, err %v; want id 9, no body", name, id, body, err)
		}
	}
}

// FuzzFrameReader: whatever a process writes, the reader returns frames
// no longer than the stream or an error, and never panics.
func FuzzFrameReader(f *testing.F) {
	f.Add(appendFrame(nil, frameResult, 1, 0, []byte(`{}`)))
	f.Add(appendFrame(appendFrame(nil, frameLog, 0, 0, []byte(`{"m":"x"}`)), framePong, 2, 0, nil))
	f.Add([]byte{0, 0, 0, 4, 'o'})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := newFrameReader(bytes.NewReader(in))
		read := 0
		for range len(in) + 1 {
			_, _, body, err := r.next()
			if err != nil {
				return
			}
			read += frameHeader + len(body)
			if read > len(in) {
				t.Fatalf("read %d bytes of frames from %d", read, len(in))
			}
		}
		t.Fatal("more frames than bytes")
	})
}

// TestOutbox: frames queued before and while the writer runs reach it in
// order, and run returns nil when stopped and the write error when a write
// fails.
func TestOutbox(t *testing.T) {
	t.Parallel()
	o := newOutbox()
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	ran := make(chan error, 1)
	o.send(frameCall, 1, 5, []byte("a"))
	go func() { ran <- o.run(pw, stop) }()
	o.send(frameCancel, 1, 0, nil)
	want := appendFrame(appendFrame(nil, frameCall, 1, 5, []byte("a")), frameCancel, 1, 0, nil)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(pr, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("wrote % x, want % x", got, want)
	}
	close(stop)
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("run after stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after stop")
	}

	_ = pr.Close()
	go func() { ran <- o.run(pw, make(chan struct{})) }()
	o.send(framePing, 2, 0, nil)
	select {
	case err := <-ran:
		if !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("run after a failed write: %v, want %v", err, io.ErrClosedPipe)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after a failed write")
	}
}

// TestCallTable: ids are unique and never 0, also when they wrap; a
// result is taken once.
func TestCallTable(t *testing.T) {
	t.Parallel()
	c := newCallTable()
	c.last = math.MaxUint32 - 1
	ch := make(chan frame, 1)
	ids := []uint32{c.add(ch), c.add(ch), c.add(ch)}
	if ids[0] != math.MaxUint32 || ids[1] != 1 || ids[2] != 2 {
		t.Fatalf("ids %v, want %d, 1, 2", ids, uint32(math.MaxUint32))
	}
	if n := c.pending(); n != 3 {
		t.Fatalf("%d pending, want 3", n)
	}
	if c.take(ids[0]) != ch || c.take(ids[0]) != nil {
		t.Fatal("a call taken twice")
	}
	if !c.forget(ids[1]) || c.forget(ids[1]) {
		t.Fatal("forget does not report whether the call waited")
	}
	if n := c.pending(); n != 1 {
		t.Fatalf("%d pending, want 1", n)
	}
}
