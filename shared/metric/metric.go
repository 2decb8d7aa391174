// Package metric builds the Prometheus series of an fngate process on its
// own registry: one call names, describes and registers a series, so the
// gateway's and the worker's series read as a list of names and help texts.
package metric

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fngate/fngate/shared/buildinfo"
)

// Registry is a process's registry; every series made through it is
// registered on it.
type Registry struct{ *prometheus.Registry }

// NewRegistry returns a registry holding the Go runtime, process and build
// information collectors, which every fngate process serves.
func NewRegistry() Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildinfo.Collector(buildinfo.Get()))
	return Registry{r}
}

func register[C prometheus.Collector](r Registry, c C) C {
	r.MustRegister(c)
	return c
}

func (r Registry) Counter(name, help string) prometheus.Counter {
	return register(r, prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
}

func (r Registry) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return register(r, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
}

func (r Registry) Gauge(name, help string) prometheus.Gauge {
	return register(r, prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help}))
}

// GaugeFunc is a gauge read from f at scrape time.
func (r Registry) GaugeFunc(name, help string, f func() float64) prometheus.GaugeFunc {
	return register(r, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

func (r Registry) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return register(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels))
}
