package gateway

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fngate/fngate/shared/metric"
)

// metrics are the gateway's Prometheus series, on its own registry.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	inflight   prometheus.GaugeFunc
	noResponse prometheus.Counter
	cache      sync.Map // seriesKey → *series
	// refusedReqs and refusedBytes count 503 OVERLOADED answers by the
	// limit that was reached.
	refusedReqs, refusedBytes prometheus.Counter

	// The route store: reachable, and whether it lost the table served.
	redisUp     prometheus.Gauge
	storeBehind prometheus.Gauge
	storeLost   prometheus.Counter
	reseeds     prometheus.Counter
	// routeUpdates count how the table was brought up to date: a change
	// applied in place, or a snapshot loaded (at start, after a gap in
	// versions or a resubscription, or for a change too large to publish).
	changesApplied, snapshots prometheus.Counter
	// fellBack counts synchronous calls answered 202 at the end of their
	// wait (Prefer: respond-async, a route's fallbackAfter).
	fellBack prometheus.Counter
	// streams counts streamed responses by how they ended (stream.go).
	streams *prometheus.CounterVec
}

func newMetrics(g *Gateway) *metrics {
	r := metric.NewRegistry()
	refusals := r.CounterVec("fngate_gateway_overload_refusals_total", "Public requests answered 503 OVERLOADED, by the limit reached: requests (FNGATE_MAX_INFLIGHT) or bytes (FNGATE_MAX_INFLIGHT_BYTES).", "limit")
	updates := r.CounterVec("fngate_gateway_routes_updates_total", "Route table updates by how they were made: change (one published change applied in place) or snapshot (the whole table read from Redis).", "kind")
	r.GaugeFunc("fngate_gateway_routes_version", "Version of the route table served; equal on every gateway once they agree.", func() float64 { return float64(g.version.Load()) })
	r.GaugeFunc("fngate_gateway_inflight_requests", "Public requests being served, against FNGATE_MAX_INFLIGHT.", func() float64 { return float64(g.admit.reqs.Load()) })
	r.GaugeFunc("fngate_gateway_inflight_body_bytes", "Request-body bytes reserved by public requests being served, against FNGATE_MAX_INFLIGHT_BYTES.", func() float64 { return float64(g.admit.bytes.Load()) })
	return &metrics{
		reg:            r.Registry,
		requests:       r.CounterVec("fngate_gateway_requests_total", "Public requests by route (domain and trigger path; empty when none matched), status code and mode.", "route", "status", "mode"),
		latency:        r.HistogramVec("fngate_gateway_request_duration_seconds", "Time from request to response, by route and mode.", prometheus.ExponentialBuckets(0.0005, 2, 16), "route", "mode"),
		inflight:       r.GaugeFunc("fngate_gateway_inflight_calls", "Function calls waiting for a worker's reply.", func() float64 { return float64(g.InFlight()) }),
		noResponse:     r.Counter("fngate_gateway_no_responder_retries_total", "Calls that found no worker subscribed and were retried."),
		refusedReqs:    refusals.WithLabelValues("requests"),
		refusedBytes:   refusals.WithLabelValues("bytes"),
		redisUp:        r.Gauge("fngate_gateway_redis_up", "1 when Redis answered the gateway's last check (route version, /readyz), else 0. Calls keep being served from the last route table either way."),
		storeBehind:    r.Gauge("fngate_gateway_routes_store_behind", "1 while Redis holds an older route table than the one served (it lost data) and routes have not been written back yet."),
		storeLost:      r.Counter("fngate_gateway_routes_store_lost_total", "Times Redis was found holding an older or no route table than the one served."),
		reseeds:        r.Counter("fngate_gateway_routes_reseeds_total", "Route tables written back to Redis after it lost its table."),
		changesApplied: updates.WithLabelValues("change"),
		snapshots:      updates.WithLabelValues("snapshot"),
		fellBack:       r.Counter("fngate_gateway_fallbacks_total", "Synchronous calls answered 202 because the function outlived the wait (Prefer: respond-async, wait=N, or the route's fallbackAfter)."),
		streams:        r.CounterVec("fngate_gateway_streams_total", "Streamed responses by how they ended: complete, client_gone (the client left: the function was cancelled), cut_short (a failure after the first byte: function error, idle timeout, lost chunk) or failed (before the first byte: an error response).", "end"),
	}
}

// seriesKey names the series of one (route, status, mode).
type seriesKey struct {
	route, mode string
	status      int
}

type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
	count    atomic.Int64 // requests, for /admin/stats
}

// observe records one public request once its response is written. The
// series of each label set are resolved once and cached: the hot path does
// a lock-free map load instead of hashing labels.
func (m *metrics) observe(route, mode string, status int, start time.Time) {
	k := seriesKey{route, mode, status}
	v, ok := m.cache.Load(k)
	if !ok {
		v, _ = m.cache.LoadOrStore(k, &series{
			requests: m.requests.WithLabelValues(route, strconv.Itoa(status), mode),
			latency:  m.latency.WithLabelValues(route, mode),
		})
	}
	s := v.(*series)
	s.requests.Inc()
	s.count.Add(1)
	s.latency.Observe(time.Since(start).Seconds())
}

func (m *metrics) setRedisUp(up bool) {
	if up {
		m.redisUp.Set(1)
	} else {
		m.redisUp.Set(0)
	}
}

// natsStatus is implemented by *nats.Conn.
type natsStatus interface{ Status() nats.Status }

// ready reports whether the gateway can serve: NATS connected, routes
// loaded. Redis is checked and reported but is no reason to leave the load
// balancer: calls are served from the route table in memory, and what
// needs Redis (idempotency keys, async records, the admin API) answers 503
// on its own while it is down.
func (g *Gateway) ready(ctx context.Context) (bool, map[string]string) {
	checks := map[string]string{"nats": "ok", "redis": "ok", "routes": "ok"}
	ok := true
	if s, is := g.nats.(natsStatus); is && s.Status() != nats.CONNECTED {
		checks["nats"], ok = s.Status().String(), false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := g.store.Version(ctx)
	g.metrics.setRedisUp(err == nil)
	switch {
	case err != nil:
		checks["redis"] = "unreachable"
		g.log.Warn("readyz: Redis unreachable; serving from the last route table", "err", err)
	case g.lost.Load():
		checks["redis"] = "lost the route table; serving the last one"
	}
	if g.table.Load() == nil {
		checks["routes"], ok = "not loaded", false
	}
	return ok, checks
}

// operate adds /healthz, /readyz and /metrics to the admin engine; they
// need no token (probes and scrapers rarely carry one).
func (g *Gateway) operate(e *gin.Engine) {
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", func(c *gin.Context) {
		ok, checks := g.ready(c.Request.Context())
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		c.JSON(status, gin.H{"ready": ok, "checks": checks})
	})
	h := promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{})
	e.GET("/metrics", gin.WrapH(h))
}

// Stats returns this gateway's request counts by route and mode.
func (g *Gateway) Stats() []RouteStats {
	by := map[[2]string]*RouteStats{}
	g.metrics.cache.Range(func(k, v any) bool {
		key, s := k.(seriesKey), v.(*series)
		rs := by[[2]string{key.route, key.mode}]
		if rs == nil {
			rs = &RouteStats{Route: key.route, Mode: key.mode}
			by[[2]string{key.route, key.mode}] = rs
		}
		n := s.count.Load()
		rs.Requests += n
		if key.status >= 500 {
			rs.Errors += n
		}
		return true
	})
	out := make([]RouteStats, 0, len(by))
	for _, rs := range by {
		out = append(out, *rs)
	}
	slices.SortFunc(out, func(a, b RouteStats) int { return strings.Compare(a.Route+"\x00"+a.Mode, b.Route+"\x00"+b.Mode) })
	return out
}
