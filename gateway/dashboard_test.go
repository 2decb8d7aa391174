package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
	"github.com/fngate/fngate/worker/runtime"
	"github.com/fngate/fngate/worker/sdk"
)

const dashboardFile = "../deployments/grafana/fngate.json"

// grafanaVars are Grafana's variables as a query would be sent: $__
// intervals become a duration, the dashboard's own an any-regexp.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$route", ".*", "$function", ".*")

// labelValues is a templating query: label_values(<selector>, <label>).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// dashboardMetrics parses every query of the Grafana dashboard as PromQL
// and returns the metric names they select.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&dash); err != nil || dash.UID == "" {
		t.Fatalf("%s: %v (uid %q)", dashboardFile, err, dash.UID)
	}
	var exprs []string
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			exprs = append(exprs, m[1])
		}
	}
	p := parser.NewParser(parser.Options{})
	var names []string
	for _, e := range exprs {
		expr, err := p.ParseExpr(grafanaVars.Replace(e))
		if err != nil {
			t.Errorf("not PromQL: %s: %v", e, err)
			continue
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok && !slices.Contains(names, vs.Name) {
				names = append(names, vs.Name)
			}
			return nil
		})
	}
	return names
}

// scrape reads a /metrics answer into the names of its series: a
// histogram's as name_bucket, name_sum and name_count, as PromQL selects
// them.
func scrape(t *testing.T, url string) (map[string]bool, string) {
	t.Helper()
	resp := gt.Get(t, url)
	tp := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := tp.TextToMetricFamilies(bytes.NewReader(resp.Body))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	names := map[string]bool{}
	for name, f := range fams {
		names[name] = true
		if f.GetType().String() == "HISTOGRAM" {
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		}
	}
	return names, string(resp.Body)
}

// TestDashboardMetricsExported: every metric the Grafana dashboard queries
// is exported by a running gateway or worker, once the stack has seen what
// creates its series (a sync call to a Go and a Node.js function, an async
// invocation retried and dead-lettered, a Node.js process that exits).
// Worker series say which runtime ran the function, and both export
// fngate_build_info.
func TestDashboardMetricsExported(t *testing.T) {
	t.Parallel()
	want := dashboardMetrics(t)
	if len(want) < 10 {
		t.Fatalf("the dashboard queries only %v", want)
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "crash"), 0o755); err != nil {
		t.Fatal(err)
	}
	js := `exports.main = async (event) => { if ((event.queryStringParameters || {}).exit) process.exit(3); return 'ok'; };`
	if err := os.WriteFile(filepath.Join(dir, "crash", "index.js"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	var w atomic.Pointer[worker.Worker] // set once started; restarts come after
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := runtime.New(ctx, runtime.Config{Dir: dir, Procs: 1, Logger: gt.Logger(t), OnRestart: func(fn, reason string) {
		if w := w.Load(); w != nil {
			w.NodeRestarted(fn, reason)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })

	s := gt.New(t, r("*", "/echo", "echo"), r("*", "/crash", "crash"), route.Route{Domain: "*", Path: "/jobs", Function: "fail", Mode: "async",
		Retry: &route.Retry{MaxAttempts: 2, InitialDelay: route.Duration(10 * time.Millisecond), MaxDelay: route.Duration(10 * time.Millisecond)}})
	gw := s.Gateway(gateway.Config{AdminToken: "dashboard-test-token"})
	fns := builtin.Functions()
	w.Store(s.Worker(worker.Config{}, map[string]sdk.Handler{"echo": fns["echo"], "fail": fns["fail"], "crash": rt.Handler("crash")}))
	ws := httptest.NewServer(w.Load().OperateHandler())
	t.Cleanup(ws.Close)

	gt.Get(t, gw.URL+"/echo")
	if resp := gt.Get(t, gw.URL+"/crash"); resp.Status != 200 {
		t.Fatalf("GET /crash = %d %s", resp.Status, resp.Body)
	}
	gt.Get(t, gw.URL+"/crash?exit=1") // the process exits: a restart
	acceptOK(t, gw.URL+"/jobs", nil, "")

	// Poll until the retry and the dead letter are counted, then name
	// what is still missing.
	var missing []string
	var gwText, wText string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var gws, wks map[string]bool
		gws, gwText = scrape(t, gw.AdminURL+"/metrics")
		wks, wText = scrape(t, ws.URL+"/metrics")
		missing = missing[:0]
		for _, name := range want {
			if !gws[name] && !wks[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exported by neither the gateway nor the worker: %v", missing)
		}
	}
	for _, want := range []string{
		`fngate_worker_invocations_total{function="echo",mode="sync",outcome="ok",runtime="go"} 1`,
		`fngate_worker_invocations_total{function="crash",mode="sync",outcome="ok",runtime="node"} 1`,
		`fngate_worker_invocation_duration_seconds_count{function="crash",mode="sync",runtime="node"}`,
	} {
		if !strings.Contains(wText, want) {
			t.Errorf("worker /metrics lacks %s", want)
		}
	}
	for what, text := range map[string]string{"gateway": gwText, "worker": wText} {
		if !regexp.MustCompile(`(?m)^fngate_build_info\{commit="[^"]+",goversion="go[^"]+",version="[^"]+"\} 1$`).MatchString(text) {
			t.Errorf("%s /metrics lacks fngate_build_info", what)
		}
	}
}
