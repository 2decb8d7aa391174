package worker

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fngate/fngate/shared/metric"
	"github.com/fngate/fngate/shared/subject"
)

// metrics are the worker's Prometheus series, on its own registry.
type metrics struct {
	reg         *prometheus.Registry
	invocations *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	dead        *prometheus.CounterVec
	restarts    *prometheus.CounterVec
	coldStarts  *prometheus.HistogramVec
	cache       sync.Map // seriesKey → *series
}

func newMetrics(w *Worker) *metrics {
	r := metric.NewRegistry()
	r.MustRegister(&workerCollector{w})
	return &metrics{
		reg:         r.Registry,
		invocations: r.CounterVec("fngate_worker_invocations_total", "Invocations run, by function, runtime (go, node or python), mode (sync or async) and outcome (ok or an error code).", "function", "runtime", "mode", "outcome"),
		duration:    r.HistogramVec("fngate_worker_invocation_duration_seconds", "Time a function ran, by function, runtime (go, node or python) and mode.", prometheus.ExponentialBuckets(0.0005, 2, 18), "function", "runtime", "mode"),
		retries:     r.CounterVec("fngate_worker_async_retries_total", "Failed asynchronous attempts scheduled for a retry.", "function"),
		dead:        r.CounterVec("fngate_worker_dead_letters_total", "Asynchronous invocations sent to the dead-letter stream.", "function"),
		restarts:    r.CounterVec("fngate_worker_node_restarts_total", "Function processes (Node.js, Python) replaced, by function and reason (exit, unresponsive, load_timeout, protocol).", "function", "reason"),
		coldStarts:  r.HistogramVec("fngate_worker_cold_start_seconds", "Time from a function's first call (its processes stopped) to a process ready, by runtime (node or python).", prometheus.ExponentialBuckets(0.01, 2, 12), "runtime"),
	}
}

type seriesKey struct{ function, runtime, mode, outcome string }

type series struct {
	invocations prometheus.Counter
	duration    prometheus.Observer
}

// observe records one invocation that took d; series are resolved once and
// cached.
func (m *metrics) observe(function, runtime, mode, outcome string, d time.Duration) {
	k := seriesKey{function, runtime, mode, outcome}
	v, ok := m.cache.Load(k)
	if !ok {
		v, _ = m.cache.LoadOrStore(k, &series{
			invocations: m.invocations.WithLabelValues(function, runtime, mode, outcome),
			duration:    m.duration.WithLabelValues(function, runtime, mode),
		})
	}
	s := v.(*series)
	s.invocations.Inc()
	s.duration.Observe(d.Seconds())
}

var (
	inflightDesc = prometheus.NewDesc("fngate_worker_inflight_invocations",
		"Invocations running in this worker, by function.", []string{"function"}, nil)
	lagDesc = prometheus.NewDesc("fngate_worker_async_pending",
		"Queued asynchronous invocations not yet delivered, by function (the consumer's lag, read at scrape time).", []string{"function"}, nil)
)

// workerCollector reads in-flight counts and queue lag at scrape time.
type workerCollector struct{ w *Worker }

func (c *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inflightDesc
	ch <- lagDesc
}

func (c *workerCollector) Collect(ch chan<- prometheus.Metric) {
	w := c.w
	for _, name := range w.Functions() {
		ch <- prometheus.MustNewConstMetric(inflightDesc, prometheus.GaugeValue, float64(w.InFlight(name)), name)
		if w.async == nil {
			continue
		}
		cname, _ := subject.Consumer(name)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cons, err := w.async.JetStream.Consumer(ctx, subject.StreamInvocations, cname)
		if err == nil {
			if info, err := cons.Info(ctx); err == nil {
				ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(info.NumPending), name)
			}
		}
		cancel()
	}
}

// NodeRestarted counts a process of function replaced by a runtime that
// hosts functions in processes (pass it as runtime.Config.OnRestart), in
// fngate_worker_node_restarts_total: Node.js and Python processes alike;
// the metric's name predates Python and is kept for dashboards and alerts.
func (w *Worker) NodeRestarted(function, reason string) {
	w.metrics.restarts.WithLabelValues(function, reason).Inc()
}

// ColdStarted records a cold start of function on runtime that took d
// (pass it as runtime.Config.OnColdStart), in
// fngate_worker_cold_start_seconds.
func (w *Worker) ColdStarted(_, runtime string, d time.Duration) {
	w.metrics.coldStarts.WithLabelValues(runtime).Observe(d.Seconds())
}

// OperateHandler serves /healthz, /readyz and /metrics for the worker.
func (w *Worker) OperateHandler(extra ...func(ctx context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		if err := w.Ready(r.Context(), extra...); err != nil {
			rw.WriteHeader(http.StatusServiceUnavailable)
			_, _ = rw.Write([]byte(`{"ready":false,"error":` + quote(err.Error()) + "}\n"))
			return
		}
		_, _ = rw.Write([]byte(`{"ready":true}` + "\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}

// ErrNotReady reports a worker that cannot serve yet.
var ErrNotReady = errors.New("worker not ready")

// Ready reports whether the worker serves: started, connected to NATS, and
// every extra check (such as a Redis ping) passing.
func (w *Worker) Ready(ctx context.Context, extra ...func(ctx context.Context) error) error {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	switch {
	case !started:
		return errors.Join(ErrNotReady, errors.New("not started"))
	case w.nc.Status() != nats.CONNECTED:
		return errors.Join(ErrNotReady, errors.New("NATS "+w.nc.Status().String()))
	}
	for _, check := range extra {
		if err := check(ctx); err != nil {
			return errors.Join(ErrNotReady, err)
		}
	}
	return nil
}

func quote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, ' ')
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '"'))
}
