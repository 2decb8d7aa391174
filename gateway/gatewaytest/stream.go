package gatewaytest

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Stream is a streamed response (#17) read as it arrives.
type Stream struct {
	*http.Response
	// Sent is when the request was sent.
	Sent time.Time
	br   *bufio.Reader
}

// OpenStream sends a request and returns once the status line and headers
// have come; the body is read with Event or Read. It fails the test on
// error; the body is closed at cleanup.
func OpenStream(t testing.TB, method, url string, header http.Header, body []byte) *Stream {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	sent := time.Now()
	resp, err := Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return &Stream{Response: resp, Sent: sent, br: bufio.NewReaderSize(resp.Body, 64<<10)}
}

// Event reads the next server-sent event and returns its data (the text
// after "data: "; the lines of a multi-line event joined by "\n") and
// when its end arrived. At the end of the body it returns the read's
// error: io.EOF when the stream ended well.
func (s *Stream) Event() (string, time.Time, error) {
	var data []string
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			return "", time.Now(), err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if data == nil {
				continue
			}
			return strings.Join(data, "\n"), time.Now(), nil
		}
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			data = append(data, strings.TrimPrefix(d, " "))
		}
	}
}

// Read reads the body.
func (s *Stream) Read(p []byte) (int, error) { return s.br.Read(p) }

// Chunked reports whether the response came with chunked transfer
// encoding: streamed, not sent whole.
func (s *Stream) Chunked() bool {
	return len(s.TransferEncoding) == 1 && s.TransferEncoding[0] == "chunked"
}

// Events reads events from to to (their data is their number), failing
// the test if one is missing or out of order, and returns when each
// arrived.
func (s *Stream) Events(t testing.TB, from, to int) []time.Time {
	t.Helper()
	var at []time.Time
	for i := from; i <= to; i++ {
		data, when, err := s.Event()
		if err != nil || data != strconv.Itoa(i) {
			t.Fatalf("event %d = %q, %v", i, data, err)
		}
		at = append(at, when)
	}
	return at
}

// Gaps describes arrival times for a test's log: the first after the
// request was sent, then the gaps between them, in milliseconds.
func (s *Stream) Gaps(at []time.Time) string {
	var b strings.Builder
	b.WriteString("ms:")
	prev := s.Sent
	for _, a := range at {
		fmt.Fprintf(&b, " %d", a.Sub(prev).Milliseconds())
		prev = a
	}
	return b.String()
}
