package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/route"
)

// functionRow is a function with the routes that call it.
type functionRow struct {
	adminapi.FunctionLoad
	Routes []routeRow
}

func (c *Console) functionList(w http.ResponseWriter, r *http.Request, s session) {
	fl, err := c.api.Functions(r.Context(), adminapi.FunctionQuery{Page: adminapi.Page{Limit: adminapi.MaxLimit}})
	var rl *adminapi.RouteList
	if err == nil {
		rl, err = c.allRoutes(r.Context())
	}
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	rows := map[string]*functionRow{}
	for _, f := range fl.Functions {
		rows[f.Function] = &functionRow{FunctionLoad: f}
	}
	// Functions that routes name but no live worker serves are listed too:
	// those are the ones whose calls fail.
	for _, rt := range rl.Routes {
		fr := rows[rt.Function]
		if fr == nil {
			fr = &functionRow{FunctionLoad: adminapi.FunctionLoad{Function: rt.Function}}
			rows[rt.Function] = fr
		}
		fr.Routes = append(fr.Routes, c.rowOf(rt))
	}
	out := make([]*functionRow, 0, len(rows))
	for _, fr := range rows {
		out = append(out, fr)
	}
	slices.SortFunc(out, func(a, b *functionRow) int { return strings.Compare(a.Function, b.Function) })
	v := c.view(s, "functions", "Functions", out)
	v.Notice = notice(r)
	c.render(w, http.StatusOK, "functions", v)
}

// allRoutes pages through the whole table.
func (c *Console) allRoutes(ctx context.Context) (*adminapi.RouteList, error) {
	all := &adminapi.RouteList{}
	q := adminapi.RouteQuery{Page: adminapi.Page{Limit: adminapi.MaxLimit}}
	for {
		page, err := c.api.Routes(ctx, q)
		if err != nil {
			return nil, err
		}
		all.Routes = append(all.Routes, page.Routes...)
		all.Version = page.Version
		if q.Cursor = page.NextCursor; q.Cursor == "" {
			return all, nil
		}
	}
}

// setFunction saves a function's max concurrency from its row's form.
func (c *Console) setFunction(w http.ResponseWriter, r *http.Request, s session) {
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("maxConcurrency")))
	if err != nil {
		n = -1 // refused by the API's validation, with its message
	}
	if _, err := c.api.SetFunction(r.Context(), route.Function{Name: r.PathValue("name"), MaxConcurrency: n}); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/functions?done=capped", http.StatusSeeOther)
}
