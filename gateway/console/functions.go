package console

import (
	"net/http"
	"slices"
	"strings"
)

// functionLoad is one function in GET /admin/functions.
type functionLoad struct {
	Function        string  `json:"function"`
	Workers         int     `json:"workers"`
	InFlight        int64   `json:"inflight"`
	Concurrency     int     `json:"concurrency"`
	RecentOK        int64   `json:"recentOk"`
	RecentErrors    int64   `json:"recentErrors"`
	RecentAvgMillis float64 `json:"recentAvgMs"`
}

type functionList struct {
	Functions []functionLoad `json:"functions"`
}

// functionRow is a function with the routes that call it.
type functionRow struct {
	functionLoad
	Routes []routeRow
}

func (c *Console) functionList(w http.ResponseWriter, r *http.Request, s session) {
	var fl functionList
	var rl routeList
	err := c.api.call(r.Context(), http.MethodGet, "/admin/functions", nil, &fl)
	if err == nil {
		err = c.api.call(r.Context(), http.MethodGet, "/admin/routes", nil, &rl)
	}
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	rows := map[string]*functionRow{}
	for _, f := range fl.Functions {
		rows[f.Function] = &functionRow{functionLoad: f}
	}
	// Functions that routes name but no live worker serves are listed too:
	// those are the ones whose calls fail.
	for _, rt := range rl.Routes {
		fr := rows[rt.Function]
		if fr == nil {
			fr = &functionRow{functionLoad: functionLoad{Function: rt.Function}}
			rows[rt.Function] = fr
		}
		fr.Routes = append(fr.Routes, c.rowOf(rt))
	}
	out := make([]*functionRow, 0, len(rows))
	for _, fr := range rows {
		out = append(out, fr)
	}
	slices.SortFunc(out, func(a, b *functionRow) int { return strings.Compare(a.Function, b.Function) })
	c.render(w, http.StatusOK, "functions", c.view(s, "functions", "Functions", out))
}
