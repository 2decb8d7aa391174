package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fngate/fngate/gateway/adminapi"
)

// sample is every gateway's counters as gathered at one time.
type sample struct {
	at       time.Time
	gateways map[string]adminapi.GatewayStats
}

// allStats gathers every gateway's counters through the admin API, as of
// now.
func (c *Console) allStats(ctx context.Context) (sample, error) {
	at := time.Now()
	res, err := c.api.AllStats(ctx)
	if err != nil {
		return sample{}, err
	}
	s := sample{at: at, gateways: make(map[string]adminapi.GatewayStats, len(res.Gateways))}
	for _, g := range res.Gateways {
		s.gateways[g.Gateway] = g
	}
	return s, nil
}

// liveRow is one route's rates over the last interval, on every gateway.
type liveRow struct {
	Route     string  `json:"route"`
	Mode      string  `json:"mode"`
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"errorRate"` // 5xx share of the interval's requests, 0..1
	Requests  int64   `json:"requests"`  // since each gateway started
	Errors    int64   `json:"errors"`
}

func key(s adminapi.RouteStats) string { return s.Mode + "\x00" + s.Route }

// rates compares two samples: each gateway's counters with its own in the
// sample before (a gateway in only one of them adds to the totals, not to
// the rates), summed over gateways. A gateway missing from a sample (late
// to answer) is compared at the next one with the last sample it was in:
// last keeps, for each gateway, its latest counters and when they were
// taken, and rates updates it.
func rates(last map[string]timed, cur sample) []liveRow {
	rows := map[string]*liveRow{}
	interval := map[string]int64{} // requests and 5xx in the interval, summed
	intervalErr := map[string]int64{}
	for id, g := range cur.gateways {
		prev, seen := last[id]
		before := map[string]adminapi.RouteStats{}
		for _, s := range prev.stats.Routes {
			before[key(s)] = s
		}
		dt := cur.at.Sub(prev.at)
		for _, s := range g.Routes {
			k := key(s)
			row := rows[k]
			if row == nil {
				row = &liveRow{Route: s.Route, Mode: s.Mode}
				rows[k] = row
			}
			row.Requests += s.Requests
			row.Errors += s.Errors
			p := before[k]
			if n := s.Requests - p.Requests; seen && n > 0 && dt > 0 {
				row.RPS += float64(n) / dt.Seconds()
				interval[k] += n
				intervalErr[k] += s.Errors - p.Errors
			}
		}
		if last != nil {
			last[id] = timed{at: cur.at, stats: g}
		}
	}
	out := make([]liveRow, 0, len(rows))
	for k, row := range rows {
		if n := interval[k]; n > 0 {
			row.ErrorRate = float64(intervalErr[k]) / float64(n)
		}
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b liveRow) int { return strings.Compare(a.Route+a.Mode, b.Route+b.Mode) })
	return out
}

// timed is one gateway's counters and when they were gathered.
type timed struct {
	at    time.Time
	stats adminapi.GatewayStats
}

func (c *Console) livePage(w http.ResponseWriter, r *http.Request, s session) {
	cur, err := c.allStats(r.Context())
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "live", c.view(s, "live", "Live", struct {
		Rows     []liveRow
		Gateways int
	}{rates(nil, cur), len(cur.gateways)}))
}

// liveEvents streams the rates of every route on every gateway as
// server-sent events, one per LiveInterval, for at most LiveMaxStream;
// EventSource reconnects.
func (c *Console) liveEvents(w http.ResponseWriter, r *http.Request, s session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		c.errorPage(w, s, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	ctx := r.Context()
	first, err := c.allStats(ctx)
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	last := map[string]timed{}
	rates(last, first)
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
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop.C:
			return
		case <-tick.C:
			cur, err := c.allStats(ctx)
			if err != nil {
				_, _ = fmt.Fprintf(w, "event: failure\ndata: %q\n\n", err.Error())
				fl.Flush()
				continue
			}
			b, _ := json.Marshal(map[string]any{
				"at": cur.at.UTC().Format(time.RFC3339), "gateways": len(cur.gateways), "routes": rates(last, cur),
			})
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
