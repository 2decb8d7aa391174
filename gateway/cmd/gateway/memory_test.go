package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/testenv"
)

// TestSlowBodiesBoundedMemory is the attack of issue 12 against the real
// gateway process: 130 connections each declare a 6 MB body and trickle
// it a byte at a time. With a 32 MiB body budget, the five that fit hold
// the budget (not memory), the other 125 get 503 OVERLOADED at once, a
// normal call is answered meanwhile, and the process's resident memory
// grows by less than the budget plus a fixed margin. With a budget that
// admits them all, memory still grows by the bytes that arrived, not by
// the declared lengths. (Before, each connection made the gateway allocate
// its declared 6 MB: RSS grew by some 750 MiB.)
func TestSlowBodiesBoundedMemory(t *testing.T) {
	bin, rd, routes := realProcesses(t, `{domain: "*", path: /upload, function: hello}`)
	const margin = 24 << 20 // goroutines, connection buffers, GC slack
	t.Run("32MiB budget", func(t *testing.T) { slowBodies(t, bin, rd, routes, 32<<20, 32<<20+margin) })
	t.Run("1GiB budget", func(t *testing.T) { slowBodies(t, bin, rd, routes, 1<<30, margin) })
}

// slowBodies runs the attack on a gateway with the given body budget and
// fails if its RSS grows by more than maxGrowth.
func slowBodies(t *testing.T, bin string, rd *testenv.Redis, routes string, budget, maxGrowth int) {
	const (
		declared = 6_000_000
		conns    = 130
	)
	admitted := min(conns, budget/declared)
	gw, httpPort, adminPort, natsPort := startGateway(t, bin, rd, routes, "FNGATE_MAX_INFLIGHT_BYTES="+itoa(budget), "FNGATE_MAX_INFLIGHT=1000")
	start(t, bin+"/worker", "FNGATE_NATS_URL=nats://127.0.0.1:"+itoa(natsPort), "FNGATE_BUILTINS=hello", "FNGATE_METRICS_ADDR=127.0.0.1:0")
	base := "http://127.0.0.1:" + itoa(httpPort)
	testenv.Eventually(t, 20*time.Second, "gateway and worker answer", func() bool {
		code, _ := get(base + "/greet")
		return code == 200
	})
	rss0 := vmRSS(t, gw.cmd.Process.Pid)

	type answer struct {
		status int
		code   string
	}
	answers := make(chan answer, conns)
	var wg sync.WaitGroup
	var open []net.Conn
	defer func() {
		for _, c := range open {
			_ = c.Close()
		}
		wg.Wait()
	}()
	for range conns {
		c, err := net.Dial("tcp", "127.0.0.1:"+itoa(httpPort))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		if _, err := fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\nx", declared); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return // closed by the test: one of the admitted
			}
			var body strings.Builder
			_, _ = bufio.NewReader(resp.Body).WriteTo(&body)
			resp.Body.Close()
			code := ""
			if strings.Contains(body.String(), `"OVERLOADED"`) && resp.Header.Get("Retry-After") != "" {
				code = "OVERLOADED"
			}
			answers <- answer{resp.StatusCode, code}
		})
	}

	// Trickle a byte per connection every 100ms for 3s, reading RSS as we
	// go, and make a normal call halfway.
	peak := rss0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	normal := 0
	for i := range 30 {
		<-tick.C
		for _, c := range open {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("x")) // refused ones are closed: ignore
		}
		peak = max(peak, vmRSS(t, gw.cmd.Process.Pid))
		if i == 15 {
			normal, _ = get(base + "/greet")
		}
	}
	t.Logf("gateway RSS %d MiB before, peak %d MiB with %d slow bodies (budget %d MiB)", rss0>>20, peak>>20, conns, budget>>20)
	if peak-rss0 > maxGrowth {
		t.Errorf("RSS grew by %d MiB, more than %d MiB", (peak-rss0)>>20, maxGrowth>>20)
	}
	refused := 0
	deadline := time.After(10 * time.Second)
	for refused < conns-admitted {
		select {
		case a := <-answers:
			if a.status != http.StatusServiceUnavailable || a.code != "OVERLOADED" {
				t.Fatalf("a trickling connection was answered %d %q, want 503 OVERLOADED with Retry-After", a.status, a.code)
			}
			refused++
		case <-deadline:
			t.Fatalf("%d of %d connections past the budget answered 503 OVERLOADED within 10s", refused, conns-admitted)
		}
	}
	if normal != 200 {
		t.Errorf("a normal call during the attack = %d, want 200", normal)
	}
	_, metrics := get("http://127.0.0.1:" + itoa(adminPort) + "/metrics")
	for series, want := range map[string]float64{
		"fngate_gateway_inflight_body_bytes":                    float64(admitted * declared),
		`fngate_gateway_overload_refusals_total{limit="bytes"}`: float64(conns - admitted),
	} {
		if got := seriesValue(metrics, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// vmRSS reads a process's resident set size in bytes from /proc.
func vmRSS(t *testing.T, pid int) int { return vmStatus(t, pid, "VmRSS") }

// vmStatus reads a size in bytes from a process's /proc status: VmRSS,
// or VmHWM (its peak resident set size).
func vmStatus(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatalf("%s line %q: %v", field, line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// seriesValue finds one series' value in a Prometheus text exposition
// (-1 when absent).
func seriesValue(exposition, series string) float64 {
	for line := range strings.SplitSeq(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

func TestParseInflightLimits(t *testing.T) {
	t.Setenv("FNGATE_MAX_INFLIGHT_BYTES", "1048576")
	o, err := parse([]string{"-max-inflight", "7"})
	if err != nil {
		t.Fatal(err)
	}
	if o.gw.MaxInflight != 7 || o.gw.MaxInflightBytes != 1<<20 {
		t.Fatalf("parse: MaxInflight %d, MaxInflightBytes %d", o.gw.MaxInflight, o.gw.MaxInflightBytes)
	}
}
