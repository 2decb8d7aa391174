// Command routesbench measures the control plane at 100,000 routes, the
// figures of issue 18, in one run (scripts/bench.sh routes):
//
//   - the routes written to a real Redis, then a routes file of the same
//     routes compared with them (a diff: nothing written or published),
//     and applied again (skipped: Redis holds what the file made);
//   - two real gateway processes (default settings, GOGC included) started
//     on that Redis: time until /readyz answers, and their RSS;
//   - 100 creates, updates and deletes through one gateway's admin API:
//     latency of each, and the time until both gateways serve the change;
//   - CPU per change per gateway (from /proc over a run of changes);
//   - route matching on the same table, in process: p50 and p99.
//
// Everything listens on 127.0.0.1. The machine may be shared: figures are
// printed with the core count, and the integrator re-measures.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/natsserver"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

func main() {
	var redisURL, gatewayBin string
	var hosts, perHost, changes int
	flag.StringVar(&gatewayBin, "gateway", "", "gateway binary")
	flag.StringVar(&redisURL, "redis-url", "", "Redis to fill (emptied first)")
	flag.IntVar(&hosts, "hosts", 20_000, "tenant hosts")
	flag.IntVar(&perHost, "per-host", 5, "routes per host (one more route on \"*\")")
	flag.IntVar(&changes, "changes", 100, "changes of each kind")
	matchOnly := flag.Bool("match-only", false, "only the match figures (no Redis, no gateways)")
	flag.Parse()
	var err error
	if !*matchOnly {
		err = run(redisURL, gatewayBin, hosts, perHost, changes)
	}
	if err == nil {
		// Last, in a process that serves nothing any more (the gateways,
		// NATS and the workers stopped): the match alone.
		err = matchFigures(route.NewTable(tenantRoutes(hosts, perHost), []string{"localhost"}), hosts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "routesbench:", err)
		os.Exit(1)
	}
}

// tenantRoutes are hosts × perHost routes, plus one on "*": 100,001 by
// default, over 1,000 functions.
func tenantRoutes(hosts, perHost int) []route.Route {
	rs := make([]route.Route, 0, hosts*perHost+1)
	paths := []string{"/", "/api", "/api/v1/users", "/static", "/hooks/payment", "/admin", "/graphql"}
	for h := range hosts {
		for p := range perHost {
			rs = append(rs, route.Route{Domain: fmt.Sprintf("t%05d.tenant.example", h), Path: paths[p%len(paths)] + strings.Repeat("/x", p/len(paths)),
				Function: fmt.Sprintf("fn-%03d", (h*perHost+p)%1000), Methods: []string{"GET", "POST"}})
		}
	}
	return append(rs, route.Route{Domain: "*", Path: "/health", Function: "health"})
}

func run(redisURL, gatewayBin string, hosts, perHost, changes int) error {
	ctx := context.Background()
	rdb, err := store.NewClient(store.ClientConfig{URL: redisURL})
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		return err
	}
	st := store.NewRoutes(rdb)
	rs := tenantRoutes(hosts, perHost)
	fmt.Printf("routes: %d routes over %d hosts; %d cores (shared with other work: read ratios, not absolutes)\n", len(rs), hosts, runtime.NumCPU())

	t0 := time.Now()
	if err := st.Put(ctx, slices.Clone(rs)); err != nil {
		return err
	}
	fmt.Printf("  write %d routes to Redis (batches of 1,000)   %8.0f ms\n", len(rs), ms(time.Since(t0)))
	ver0, _ := st.Version(ctx)
	for _, form := range []string{"YAML", "JSON"} {
		file, err := routesFile(rs, form)
		if err != nil {
			return err
		}
		// First the file as a gateway applies it, compared with Redis
		// route by route (parse and diff timed apart), then the same
		// file again: Redis still holds what it made, so it is skipped.
		t0 = time.Now()
		parsed, err := route.ParseFile(file)
		if err != nil {
			return err
		}
		parse := time.Since(t0)
		t1 := time.Now()
		if err := st.Put(ctx, parsed); err != nil {
			return err
		}
		diff := time.Since(t1)
		if _, err := st.ApplyFile(ctx, file); err != nil { // records the file's digest
			return err
		}
		ver1, _ := st.Version(ctx)
		fmt.Printf("  routes file (%s, %2.0f MB), same routes, compared route by route  %6.0f ms (parse %.0f ms, diff %.0f ms); versions published: %d\n",
			form, mb(int64(len(file))), ms(parse+diff), ms(parse), ms(diff), ver1-ver0)
		t0 = time.Now()
		res, err := st.ApplyFile(ctx, file)
		if err != nil {
			return err
		}
		again := time.Since(t0)
		ver2, _ := st.Version(ctx)
		fmt.Printf("  the same routes file applied again (%s), unchanged: %v              %6.1f ms; versions published: %d\n",
			form, res.Unchanged, ms(again), ver2-ver0)
	}

	work, err := os.MkdirTemp("", "routesbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ns, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:-1", StoreDir: filepath.Join(work, "nats")})
	if err != nil {
		return err
	}
	defer ns.Shutdown()

	var gws [2]*gw
	for i := range gws {
		if gws[i], err = startGateway(gatewayBin, redisURL, ns.ClientURL()); err != nil {
			return err
		}
		defer gws[i].stop()
		fmt.Printf("  gateway %d serving (/readyz 200) after         %8.0f ms (CPU %4.0f ms)   RSS %5.1f MB\n", i+1, ms(gws[i].startup), ms(gws[i].cpu()), mb(gws[i].rss()))
	}

	// Latency of admin changes and the time until both gateways serve
	// them: a POST-only route answers GET with 405 once served, 404 before.
	lat := map[string][]time.Duration{}
	var served []time.Duration
	ids := make([]string, changes)
	for _, kind := range []string{"create", "update", "delete"} {
		for i := range changes {
			path := fmt.Sprintf("/bench/%d", i)
			var method, url, body string
			want := 405
			switch kind {
			case "create":
				method, url, body = "POST", "/admin/routes", fmt.Sprintf(`{"domain":"bench.example","path":%q,"function":"f","methods":["POST"]}`, path)
			case "update":
				method, url, body = "PUT", "/admin/routes/"+ids[i], fmt.Sprintf(`{"domain":"bench.example","path":%q,"function":"f","methods":["GET"]}`, path)
				want = 503 // GET allowed now: matched, no worker (answered at once, see FNGATE_NO_WORKER_WAIT below)
			case "delete":
				method, url = "DELETE", "/admin/routes/"+ids[i]
				want = 404
			}
			start := time.Now()
			out, err := gws[0].admin(method, url, body)
			if err != nil {
				return fmt.Errorf("%s %d: %w", kind, i, err)
			}
			lat[kind] = append(lat[kind], time.Since(start))
			if kind == "create" {
				var r route.Route
				_ = json.Unmarshal(out, &r)
				ids[i] = r.ID
			}
			if err := waitServed(gws[:], "bench.example", path, want); err != nil {
				return fmt.Errorf("%s %d: %w", kind, i, err)
			}
			served = append(served, time.Since(start))
		}
	}
	for _, kind := range []string{"create", "update", "delete"} {
		p := pct(lat[kind])
		fmt.Printf("  admin %-6s  p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms\n", kind, ms(p(50)), ms(p(99)), ms(p(100)))
	}
	p := pct(served)
	fmt.Printf("  change served by both gateways (%d changes)  p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms\n", len(served), ms(p(50)), ms(p(99)), ms(p(100)))

	// CPU per change: changes made through the store (no admin request on
	// either gateway), then the gateways' CPU time over them.
	n := 10 * changes
	cpu0 := [2]time.Duration{gws[0].cpu(), gws[1].cpu()}
	for i := range n {
		r := route.Route{Domain: "cpu.example", Path: fmt.Sprintf("/c/%d", i), Function: "f"}
		if err := st.Create(ctx, &r); err != nil {
			return err
		}
	}
	last, _ := st.Version(ctx)
	for _, g := range gws {
		if err := g.waitVersion(last); err != nil {
			return err
		}
	}
	perChange := [2]time.Duration{}
	for i, g := range gws {
		perChange[i] = (g.cpu() - cpu0[i]) / time.Duration(n)
	}

	// The baseline, in the same run: what every change cost before, a
	// whole snapshot (forced by a change published without its routes).
	const snapshots = 5
	cpu0 = [2]time.Duration{gws[0].cpu(), gws[1].cpu()}
	for range snapshots {
		v, err := rdb.Incr(ctx, "{fngate}:routes:version").Result()
		if err != nil {
			return err
		}
		if err := rdb.Publish(ctx, store.ChannelRoutes, fmt.Sprintf(`{"v":%d,"resync":true}`, v)).Err(); err != nil {
			return err
		}
		for _, g := range gws {
			if err := g.waitVersion(v); err != nil {
				return err
			}
		}
	}
	for i, g := range gws {
		snap := (g.cpu() - cpu0[i]) / snapshots
		fmt.Printf("  gateway %d CPU per change (%d changes)      %8.3f ms; per snapshot %6.0f ms (ratio %.0fx)   RSS %5.1f MB\n",
			i+1, n, ms(perChange[i]), ms(snap), float64(snap)/float64(max(perChange[i], time.Microsecond)), mb(g.rss()))
	}

	if err := functionsAtScale(ns.ClientURL(), gws[0]); err != nil {
		return err
	}

	for i, g := range gws {
		fmt.Printf("  gateway %d RSS at the end                     %5.1f MB\n", i+1, mb(g.rss()))
	}
	return nil
}

// matchFigures prints match latency two ways: each call timed with
// time.Now (which includes the timer's own cost, measured alone the same
// way and printed beside), and batches of matchBatch calls timed whole,
// whose per-call mean has no timer in it; p99 of those is the p99 of a
// batch's mean, not of one call, but a batch of random hosts misses the
// caches as single requests do.
//
// What is measured is the match of a request just read: its Host header
// is copied into a buffer (as a server has it, in the caches) before the
// clock starts, for a random host of the table; the table's memory is
// where the requests before left it. The heap is collected first, so that
// no collection runs during the calls (none is started: they allocate
// nothing; the figure says so if one did), and a warm-up pass runs before
// the timed ones.
func matchFigures(tab *route.Table, hosts int) error {
	const n, matchBatch = 1_000_000, 100
	names := make([]string, hosts)
	for i := range names {
		names[i] = fmt.Sprintf("t%05d.tenant.example", i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var buf [64]byte
	header := func() string { // a random tenant's Host header, just read
		k := copy(buf[:], names[rng.IntN(hosts)])
		return unsafe.String(&buf[0], k)
	}
	const path = "/api/v1/users/42/orders"
	empty, single := make([]time.Duration, n), make([]time.Duration, n)
	for range n / 10 { // warm-up
		tab.Match(header(), path)
	}
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for i := range n {
		h := header()
		t0 := time.Now()
		empty[i] = time.Since(t0)
		t0 = time.Now()
		r := tab.Match(h, path)
		single[i] = time.Since(t0)
		if r == nil {
			return fmt.Errorf("no match for %s%s", h, path)
		}
	}
	hs := make([]string, matchBatch)
	batches := make([]time.Duration, 0, n/matchBatch)
	for range n / matchBatch {
		for j := range hs {
			hs[j] = names[rng.IntN(hosts)]
		}
		t0 := time.Now()
		for _, h := range hs {
			tab.Match(h, path)
		}
		batches = append(batches, time.Since(t0)/matchBatch)
	}
	runtime.ReadMemStats(&ms1)
	pe, ps, pb := pct(empty), pct(single), pct(batches)
	fmt.Printf("  match (%d routes, %d hosts), each call timed  p50 %5.2f us  p99 %5.2f us  p99.9 %5.2f us (the timer alone: p50 %.2f, p99 %.2f us; %d calls, %d collections during them)\n",
		tab.Len(), hosts, us(ps(50)), us(ps(99)), us(ps(99.9)), us(pe(50)), us(pe(99)), n, ms1.NumGC-ms0.NumGC)
	fmt.Printf("  match, batches of %d timed                  p50 %5.2f us  p99 %5.2f us per call\n", matchBatch, us(pb(50)), us(pb(99)))
	return nil
}

// routesFile writes rs as a routes file in form (YAML or JSON).
func routesFile(rs []route.Route, form string) ([]byte, error) {
	if form == "JSON" {
		return json.Marshal(route.File{Routes: rs})
	}
	var b bytes.Buffer
	b.WriteString("routes:\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "  - {domain: %q, path: %q, function: %s, methods: [%s]}\n", r.Domain, r.Path, r.Function, strings.Join(r.Methods, ", "))
	}
	return b.Bytes(), nil
}

type gw struct {
	cmd      *exec.Cmd
	pub, adm string
	startup  time.Duration
	client   *http.Client
	stdout   *bytes.Buffer
}

func startGateway(bin, redisURL, natsURL string) (*gw, error) {
	g := &gw{client: &http.Client{Timeout: 10 * time.Second}, stdout: &bytes.Buffer{}}
	pub, adm := freePort(), freePort()
	g.pub, g.adm = "http://127.0.0.1:"+pub, "http://127.0.0.1:"+adm
	g.cmd = exec.Command(bin)
	g.cmd.Env = append(os.Environ(), "FNGATE_HTTP_ADDR=127.0.0.1:"+pub, "FNGATE_ADMIN_ADDR=127.0.0.1:"+adm,
		"FNGATE_REDIS_URL="+redisURL, "FNGATE_NATS_URL="+natsURL, "FNGATE_NO_WORKER_WAIT=1ms", "FNGATE_LOG_LEVEL=warn")
	g.cmd.Stdout, g.cmd.Stderr = g.stdout, g.stdout
	start := time.Now()
	if err := g.cmd.Start(); err != nil {
		return nil, err
	}
	for range 3000 {
		resp, err := g.client.Get(g.adm + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				g.startup = time.Since(start)
				return g, nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	g.stop()
	return nil, fmt.Errorf("gateway not ready within 6s: %s", g.stdout)
}

func (g *gw) stop() {
	_ = g.cmd.Process.Signal(os.Interrupt)
	_ = g.cmd.Wait()
}

func (g *gw) admin(method, path, body string) ([]byte, error) {
	req, _ := http.NewRequest(method, g.adm+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%d %s", resp.StatusCode, b.String())
	}
	return b.Bytes(), nil
}

// waitServed polls both gateways until host path answers GET with want.
func waitServed(gws []*gw, host, path string, want int) error {
	for _, g := range gws {
		for i := 0; ; i++ {
			req, _ := http.NewRequest("GET", g.pub+path, nil)
			req.Host = host
			resp, err := g.client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == want {
					break
				}
			}
			if i > 20000 {
				return fmt.Errorf("%s%s not answered %d", host, path, want)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	return nil
}

func (g *gw) waitVersion(v int64) error {
	for range 10000 {
		resp, err := g.client.Get(g.adm + "/metrics")
		if err == nil {
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			for line := range strings.SplitSeq(b.String(), "\n") {
				if f, ok := strings.CutPrefix(line, "fngate_gateway_routes_version "); ok {
					if got, _ := strconv.ParseFloat(f, 64); int64(got) >= v {
						return nil
					}
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("gateway did not reach version %d", v)
}

// cpu is the process's user plus system time.
func (g *gw) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / 100 // USER_HZ
}

// rss is the process's resident set in bytes.
func (g *gw) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// freePort is a loopback port free a moment ago.
func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "0"
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func pct(ds []time.Duration) func(float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return func(p float64) time.Duration {
		if len(s) == 0 {
			return 0
		}
		return s[min(len(s)-1, int(p/100*float64(len(s))))]
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func mb(b int64) float64         { return float64(b) / (1 << 20) }

// functionsAtScale runs 10 workers (in process) serving 1,000 functions
// each, measures the heartbeat bytes per second a gateway receives, and
// times GET /admin/functions on gateway g, which follows those heartbeats.
func functionsAtScale(natsURL string, g *gw) error {
	const workers, functions = 10, 1000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range workers {
		stop, err := startIdleWorker(ctx, natsURL, functions)
		if err != nil {
			return err
		}
		defer stop()
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	var size, beats atomic.Int64
	sub, err := nc.Subscribe(subject.Heartbeat, func(m *nats.Msg) { size.Add(int64(len(m.Data))); beats.Add(1) })
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	const window = 6 * time.Second
	time.Sleep(window) // counting heartbeats over a fixed window
	fmt.Printf("  heartbeats: %d workers x %d functions: %.0f KB/s at each gateway (%d beats of %.1f KB in %s)\n",
		workers, functions, float64(size.Load())/window.Seconds()/1024, beats.Load(), float64(size.Load())/float64(max(beats.Load(), 1))/1024, window)
	for _, limit := range []int{100, 1000} {
		var lat []time.Duration
		for range 50 {
			t0 := time.Now()
			out, err := g.admin("GET", fmt.Sprintf("/admin/functions?limit=%d", limit), "")
			if err != nil {
				return err
			}
			lat = append(lat, time.Since(t0))
			if limit == 1000 && !bytes.Contains(out, []byte(`"fn-999"`)) {
				return fmt.Errorf("/admin/functions lacks fn-999: %.200s", out)
			}
		}
		p := pct(lat)
		fmt.Printf("  GET /admin/functions?limit=%-4d p50 %6.2f ms  p99 %6.2f ms\n", limit, ms(p(50)), ms(p(99)))
	}
	return nil
}

// startIdleWorker starts a worker serving functions functions that do
// nothing (fn-000...), on a connection of its own; stop drains it.
func startIdleWorker(ctx context.Context, natsURL string, functions int) (stop func(), err error) {
	nc, err := nats.Connect(natsURL, nats.Name("routesbench-worker"), nats.Timeout(30*time.Second))
	if err != nil {
		return nil, err
	}
	w, err := worker.New(nc, worker.Config{Logger: slog.New(slog.DiscardHandler)})
	for f := 0; err == nil && f < functions; f++ {
		err = w.Handle(fmt.Sprintf("fn-%03d", f), sdk.HandlerFunc(func(context.Context, *sdk.Event) (any, error) { return nil, nil }))
	}
	if err == nil {
		err = w.Start(ctx)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return func() { _ = w.Drain(context.Background()); nc.Close() }, nil
}
