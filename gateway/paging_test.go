package gateway_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/gateway/adminapi"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// pageAll follows GET path's cursors to the end, returning every page's
// item count and the keys of the items.
func pageAll[T any](t *testing.T, base, path string, q url.Values, key func(T) string) (sizes []int, keys []string) {
	t.Helper()
	for range 100 {
		var page struct {
			Routes     []T    `json:"routes"`
			Functions  []T    `json:"functions"`
			NextCursor string `json:"nextCursor"`
		}
		gt.Get(t, base+path+"?"+q.Encode()).JSON(t, &page)
		items := append(page.Routes, page.Functions...)
		sizes = append(sizes, len(items))
		for _, it := range items {
			keys = append(keys, key(it))
		}
		if page.NextCursor == "" {
			return sizes, keys
		}
		q.Set("cursor", page.NextCursor)
	}
	t.Fatal("more than 100 pages")
	return nil, nil
}

// TestRoutesPaging: GET /admin/routes answers pages of limit routes
// (default 100, at most 1000) in domain and path order, with an opaque
// cursor to the next, filtered by domain, path prefix and function; each
// of two gateways answers the same for a table written by the other.
func TestRoutesPaging(t *testing.T) {
	t.Parallel()
	var rs []route.Route
	for i := range 130 {
		rs = append(rs, r(fmt.Sprintf("t%02d.example", i%13), fmt.Sprintf("/p/%03d", i), fmt.Sprintf("fn-%d", i%3)))
	}
	rs = append(rs, r("*", "/api", "any"), r("default", "/", "home"))
	s := gt.New(t)
	gw1, gw2 := s.Gateway(gateway.Config{}), s.Gateway(gateway.Config{})
	if err := s.Routes.Put(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, rt := range rs {
		want = append(want, rt.Domain+" "+rt.Path)
	}
	slices.Sort(want)
	key := func(rt route.Route) string { return rt.Domain + " " + rt.Path }
	for _, gw := range []*gt.Gateway{gw1, gw2} {
		sizes, got := pageAll(t, gw.AdminURL, "/admin/routes", url.Values{}, key)
		if !slices.Equal(sizes, []int{100, 32}) || !slices.Equal(got, want) {
			t.Errorf("default pages: sizes %v, %d routes in order %v; want [100 32] and every route sorted", sizes, len(got), slices.Equal(got, want))
		}
		sizes, got = pageAll(t, gw.AdminURL, "/admin/routes", url.Values{"limit": {"40"}}, key)
		if !slices.Equal(sizes, []int{40, 40, 40, 12}) || !slices.Equal(got, want) {
			t.Errorf("limit=40 pages: sizes %v, in order %v", sizes, slices.Equal(got, want))
		}
	}
	for _, c := range []struct {
		q     url.Values
		sizes []int
		first string
	}{
		{url.Values{"domain": {"T03.example"}, "limit": {"4"}}, []int{4, 4, 2}, "t03.example /p/003"},
		{url.Values{"function": {"fn-1"}, "limit": {"1000"}}, []int{43}, "t00.example /p/013"},
		{url.Values{"path": {"/p/12"}}, []int{10}, "t03.example /p/120"},
		{url.Values{"domain": {"t05.example"}, "path": {"/p/0"}, "function": {"fn-2"}}, []int{3}, "t05.example /p/005"},
		{url.Values{"domain": {"none.example"}}, []int{0}, ""},
	} {
		sizes, got := pageAll(t, gw2.AdminURL, "/admin/routes", c.q, key)
		if !slices.Equal(sizes, c.sizes) || (len(got) > 0) != (c.first != "") || len(got) > 0 && got[0] != c.first {
			t.Errorf("%v: sizes %v, first %q; want %v, %q", c.q, sizes, got[:min(1, len(got))], c.sizes, c.first)
		}
	}
	for _, q := range []string{"limit=1001", "limit=-1", "limit=x", "cursor=%25%25"} {
		if resp := gt.Get(t, gw1.AdminURL+"/admin/routes?"+q); resp.Status != 400 || resp.ErrorCode() != "INVALID_REQUEST" {
			t.Errorf("routes?%s = %d %s, want 400 INVALID_REQUEST", q, resp.Status, resp.Body)
		}
	}
}

// TestFunctionsPaging: GET /admin/functions pages the same way.
func TestFunctionsPaging(t *testing.T) {
	t.Parallel()
	s := gt.New(t)
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())
	all := builtin.Names()
	key := func(f adminapi.FunctionLoad) string { return f.Function }
	testenv.Eventually(t, 10*time.Second, "every built-in listed", func() bool {
		_, got := pageAll(t, gw.AdminURL, "/admin/functions", url.Values{}, key)
		return slices.Equal(got, all)
	})
	sizes, got := pageAll(t, gw.AdminURL, "/admin/functions", url.Values{"limit": {"4"}}, key)
	if want := []int{4, 4, len(all) - 8}; !slices.Equal(sizes, want) || !slices.Equal(got, all) {
		t.Errorf("limit=4: sizes %v, names %v; want %v and %v", sizes, got, want, all)
	}
	if resp := gt.Get(t, gw.AdminURL+"/admin/functions?limit=5000"); resp.Status != 400 {
		t.Errorf("functions?limit=5000 = %d, want 400", resp.Status)
	}
}
