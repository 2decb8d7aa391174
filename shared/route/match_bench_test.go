package route

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// threadCPU is the CPU time of the calling thread: on a machine shared
// with other work, the figure that wall time (b's ns/op) is not.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchMatch runs match b.N times and reports the thread's CPU time per
// call beside the wall time.
func benchMatch(b *testing.B, match func(i int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := threadCPU()
	for i := range b.N {
		match(i)
	}
	b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// tenantTable is the table of scripts/routesbench: hosts × 5 routes and
// one on "*".
func tenantTable(tb testing.TB, hosts int) *Table {
	paths := []string{"/", "/api", "/api/v1/users", "/static", "/hooks/payment"}
	rs := make([]Route, 0, hosts*len(paths)+1)
	for h := range hosts {
		for p := range paths {
			rs = append(rs, Route{Domain: fmt.Sprintf("t%05d.tenant.example", h), Path: paths[p], Function: fmt.Sprintf("fn-%03d", (h*5+p)%1000), Methods: []string{"GET", "POST"}})
		}
	}
	rs = append(rs, Route{Domain: "*", Path: "/health", Function: "health"})
	return NewTable(mustRoutes(tb, rs...), []string{"localhost"})
}

// BenchmarkMatch100k matches requests to random tenant hosts of a table of
// 100,001 routes: the table is larger than the caches, as in production.
// "upper" sends the Host headers as clients may: capitals and a port.
func BenchmarkMatch100k(b *testing.B) {
	const hosts = 20_000
	tab := tenantTable(b, hosts)
	for _, upper := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(1, 2))
		reqs := make([]string, 4096)
		for i := range reqs {
			reqs[i] = fmt.Sprintf("t%05d.tenant.example", rng.IntN(hosts))
			if upper {
				reqs[i] = strings.ToUpper(reqs[i]) + ":8080"
			}
		}
		b.Run(map[bool]string{false: "lower", true: "upper"}[upper], func(b *testing.B) {
			benchMatch(b, func(i int) {
				if tab.Match(reqs[i&4095], "/api/v1/users/42/orders") == nil {
					b.Fatal("no match")
				}
			})
		})
	}
}

// BenchmarkEdit100k changes one route of a table of 100,001 routes, as a
// gateway applies a published change.
func BenchmarkEdit100k(b *testing.B) {
	tab := tenantTable(b, 20_000)
	rs := make([]Route, 4096)
	for i := range rs {
		rs[i] = mustRoutes(b, Route{Domain: fmt.Sprintf("t%05d.tenant.example", i*7%20_000), Path: "/api", Function: "changed"})[0]
	}
	benchMatch(b, func(i int) {
		e := tab.Edit()
		e.Set(rs[i&4095])
		if e.Table().Len() != tab.Len() {
			b.Fatal("len")
		}
	})
}

// BenchmarkPageByFunction lists the first 100 routes of one function (of
// 1,000) in a table of 100,001 routes: GET /admin/routes?function=.
func BenchmarkPageByFunction(b *testing.B) {
	tab := tenantTable(b, 20_000)
	benchMatch(b, func(i int) {
		if rs, _ := tab.Page(Query{Function: fmt.Sprintf("fn-%03d", i%1000), Limit: 100}); len(rs) != 100 {
			b.Fatalf("%d routes", len(rs))
		}
	})
}

// BenchmarkBuild100k builds a table of 100,001 routes, as a gateway
// loading a snapshot does (one Set per page of 2,000).
func BenchmarkBuild100k(b *testing.B) {
	paths := []string{"/", "/api", "/api/v1/users", "/static", "/hooks/payment"}
	var rs []Route
	for h := range 20_000 {
		for p := range paths {
			rs = append(rs, Route{Domain: fmt.Sprintf("t%05d.tenant.example", h), Path: paths[p], Function: fmt.Sprintf("fn-%03d", (h*5+p)%1000), Methods: []string{"GET", "POST"}})
		}
	}
	rs = mustRoutes(b, rs...)
	var ms runtime.MemStats
	benchMatch(b, func(int) {
		bl := NewBuilder(nil)
		for i := 0; i < len(rs); i += 2000 {
			bl.Set(rs[i:min(i+2000, len(rs))]...)
		}
		tab := bl.Table()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/1e6, "heap-MB")
		runtime.KeepAlive(tab)
	})
}
