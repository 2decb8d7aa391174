package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/testenv"
)

// TestStreamBoundedMemory: a 50 MB streamed response passes through the
// real gateway process (with its embedded NATS) from the real worker
// process, once from a Go function (the built-in events) and once from a
// Node.js function, and the gateway's peak resident memory grows by less
// than 32 MiB: chunks are relayed under the gateway's credit, never
// gathered.
//
// The gateway runs with GOGC=100. By default (shared/gctune) its heap may
// hold 32 MiB of garbage between collections, by design, and 50 MB
// relayed are 50 MB of garbage (each chunk a NATS message): its peak
// would then measure that headroom, 23 to 34 MiB in runs on a busy
// machine, not the stream. A gateway that gathered the stream would grow
// by more than 50 MB either way.
func TestStreamBoundedMemory(t *testing.T) {
	bin, rd, routes := realProcesses(t, `{domain: "*", path: /events, function: events}`+"\n  - "+`{domain: "*", path: /sse, function: sse}`)
	fns := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "worker/runtime/testdata/functions/sse/index.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(fns, "sse"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fns, "sse", "index.js"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	gw, httpPort, _, natsPort := startGateway(t, bin, rd, routes, "GOGC=100")
	start(t, bin+"/worker", "FNGATE_NATS_URL=nats://127.0.0.1:"+itoa(natsPort), "FNGATE_BUILTINS=hello,events",
		"FNGATE_FUNCTIONS_DIR="+fns, "FNGATE_METRICS_ADDR=127.0.0.1:0")
	base := "http://127.0.0.1:" + itoa(httpPort)
	testenv.Eventually(t, 20*time.Second, "gateway and worker answer", func() bool {
		code, _ := get(base + "/greet")
		return code == 200
	})
	const mb, total = 1 << 20, 50
	pid := gw.cmd.Process.Pid
	for _, fn := range []string{"/events?ms=0&size=1048576", "/sse?gap=0&size=1048576"} {
		// A warm-up stream, then the peak is reset (clear_refs 5) so that
		// VmHWM is the peak of the measured stream alone.
		stream(t, base+fn+"&n=2", 2*mb)
		rss0 := vmRSS(t, pid)
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			t.Fatalf("resetting the peak RSS: %v", err)
		}
		began := time.Now()
		stream(t, base+fn+"&n="+itoa(total), total*mb)
		took := time.Since(began)
		peak := vmStatus(t, pid, "VmHWM")
		growth := peak - rss0
		t.Logf("%s: %d MB in %s (%.0f MB/s); gateway RSS before %d MiB, peak during %d MiB, growth %.1f MiB",
			fn, total, took.Round(time.Millisecond), total/took.Seconds(), rss0>>20, peak>>20, float64(growth)/(1<<20))
		if growth >= 32<<20 {
			t.Errorf("%s: the gateway's RSS grew by %d MiB streaming %d MB", fn, growth>>20, total)
		}
	}
}

// stream GETs url and checks that its body is want bytes, streamed.
func stream(t *testing.T, url string, want int64) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != want || resp.StatusCode != 200 || len(resp.TransferEncoding) == 0 {
		t.Fatalf("GET %s: %d, %d bytes, %v, transfer encoding %v; want %d bytes streamed", url, resp.StatusCode, n, err, resp.TransferEncoding, want)
	}
}
