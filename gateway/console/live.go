package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// routeStats is one route's counters in GET /admin/stats.
type routeStats struct {
	Route    string `json:"route"`
	Mode     string `json:"mode"`
	Requests int64  `json:"requests"`
	Errors   int64  `json:"errors"`
}

type stats struct {
	Routes []routeStats `json:"routes"`
}

// liveRow is one route's rates over the last interval.
type liveRow struct {
	Route     string  `json:"route"`
	Mode      string  `json:"mode"`
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"errorRate"` // 5xx share of the interval's requests, 0..1
	Requests  int64   `json:"requests"`  // since the gateway started
	Errors    int64   `json:"errors"`
}

func key(s routeStats) string { return s.Mode + "\x00" + s.Route }

// rates compares two samples taken dt apart.
func rates(prev, cur stats, dt time.Duration) []liveRow {
	before := map[string]routeStats{}
	for _, s := range prev.Routes {
		before[key(s)] = s
	}
	out := make([]liveRow, 0, len(cur.Routes))
	for _, s := range cur.Routes {
		p := before[key(s)]
		n, e := s.Requests-p.Requests, s.Errors-p.Errors
		row := liveRow{Route: s.Route, Mode: s.Mode, Requests: s.Requests, Errors: s.Errors}
		if n > 0 && dt > 0 {
			row.RPS = float64(n) / dt.Seconds()
			row.ErrorRate = float64(e) / float64(n)
		}
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b liveRow) int { return strings.Compare(a.Route+a.Mode, b.Route+b.Mode) })
	return out
}

func (c *Console) livePage(w http.ResponseWriter, r *http.Request, s session) {
	var st stats
	if err := c.api.call(r.Context(), http.MethodGet, "/admin/stats", nil, &st); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "live", c.view(s, "live", "Live", rates(stats{}, st, 0)))
}

// liveEvents streams the rates of every route as server-sent events, one
// per LiveInterval, for at most LiveMaxStream; EventSource reconnects.
func (c *Console) liveEvents(w http.ResponseWriter, r *http.Request, s session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		c.errorPage(w, s, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	ctx := r.Context()
	var prev stats
	if err := c.api.call(ctx, http.MethodGet, "/admin/stats", nil, &prev); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprintf(w, "retry: %d\n\n", c.cfg.LiveInterval.Milliseconds())
	fl.Flush()
	tick := time.NewTicker(c.cfg.LiveInterval)
	defer tick.Stop()
	stop := time.NewTimer(c.cfg.LiveMaxStream)
	defer stop.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop.C:
			return
		case now := <-tick.C:
			var cur stats
			if err := c.api.call(ctx, http.MethodGet, "/admin/stats", nil, &cur); err != nil {
				_, _ = fmt.Fprintf(w, "event: failure\ndata: %q\n\n", err.Error())
				fl.Flush()
				continue
			}
			b, _ := json.Marshal(map[string]any{"at": now.UTC().Format(time.RFC3339), "routes": rates(prev, cur, now.Sub(last))})
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return
			}
			fl.Flush()
			prev, last = cur, now
		}
	}
}
