package route

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestTableEdit: an edit makes a new table and leaves the one it started
// from serving what it served, across shard growth and domain moves.
func TestTableEdit(t *testing.T) {
	t.Parallel()
	var rs []Route
	for i := range 3000 {
		rs = append(rs, Route{Domain: fmt.Sprintf("h%d.example", i%500), Path: fmt.Sprintf("/p%d", i), Function: "f"})
	}
	old := NewTable(mustRoutes(t, rs...), nil)
	if old.Len() != 3000 {
		t.Fatalf("Len = %d", old.Len())
	}
	b := old.Edit()
	moved := mustRoutes(t, Route{Domain: "new.example", Path: "/p7", Function: "g"})
	b.Delete(rs[7])
	b.Set(moved...)
	b.Set(mustRoutes(t, Route{Domain: "h8.example", Path: "/p8", Function: "updated"})...)
	nt := b.Table()
	for _, c := range []struct {
		tab        *Table
		host, path string
		want       string
	}{
		{old, "h7.example", "/p7", "f"}, {old, "new.example", "/p7", ""}, {old, "h8.example", "/p8", "f"},
		{nt, "h7.example", "/p7", ""}, {nt, "new.example", "/p7", "g"}, {nt, "h8.example", "/p8", "updated"},
		{nt, "h9.example", "/p9", "f"},
	} {
		got := ""
		if r := c.tab.Match(c.host, c.path); r != nil {
			got = r.Function
		}
		if got != c.want {
			t.Errorf("Match(%s, %s) = %q, want %q", c.host, c.path, got, c.want)
		}
	}
	if nt.Len() != 3000 || len(nt.Routes()) != 3000 {
		t.Errorf("Len after a move and an update = %d (%d routes), want 3000", nt.Len(), len(nt.Routes()))
	}
	// A deletion of a route replaced meanwhile (another ID) is ignored.
	b = nt.Edit()
	b.Delete(Route{Domain: "h9.example", Path: "/p9", ID: "other"})
	if nt2 := b.Table(); nt2.Match("h9.example", "/p9") == nil {
		t.Error("a stale deletion removed the route")
	}
}

// TestTablePage: pages follow (domain, path) order with filters, and the
// key of a page's last route continues it.
func TestTablePage(t *testing.T) {
	t.Parallel()
	var rs []Route
	for _, f := range []string{"b.example /api/x f", "a.example /z g", "a.example /api f", "* /api f", "default / g"} {
		d, rest, _ := strings.Cut(f, " ")
		p, fn, _ := strings.Cut(rest, " ")
		rs = append(rs, Route{Domain: d, Path: p, Function: fn})
	}
	tab := NewTable(mustRoutes(t, rs...), nil)
	keys := func(rs []Route) (out []string) {
		for _, r := range rs {
			out = append(out, r.Domain+r.Path)
		}
		return out
	}
	all := []string{"*/api", "a.example/api", "a.example/z", "b.example/api/x", "default/"}
	var got []string
	q := Query{Limit: 2}
	for range 10 {
		rs, more := tab.Page(q)
		got = append(got, keys(rs)...)
		if !more {
			break
		}
		q.After = rs[len(rs)-1].Key()
	}
	if !slices.Equal(got, all) {
		t.Errorf("pages = %v, want %v", got, all)
	}
	for _, c := range []struct {
		q    Query
		want []string
	}{
		{Query{Function: "f", Limit: 10}, []string{"*/api", "a.example/api", "b.example/api/x"}},
		{Query{PathPrefix: "/api", Limit: 10}, []string{"*/api", "a.example/api", "b.example/api/x"}},
		{Query{Domain: "a.example", Limit: 10}, []string{"a.example/api", "a.example/z"}},
		{Query{Domain: "a.example", After: "a.example\x00/api", Limit: 10}, []string{"a.example/z"}},
	} {
		if rs, _ := tab.Page(c.q); !slices.Equal(keys(rs), c.want) {
			t.Errorf("Page(%+v) = %v, want %v", c.q, keys(rs), c.want)
		}
	}
}
