package route

import (
	"fmt"
	"math/rand/v2"
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

// refLongest is the matcher tables had before domains kept few routes in
// an array: one lookup per segment of the path, then "/".
func refLongest(m map[string]*Route, p string) *Route {
	if len(m) == 0 {
		return nil
	}
	p = strings.TrimRight(p, "/")
	for p != "" {
		if r := m[p]; r != nil {
			return r
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = strings.TrimRight(p[:i], "/")
	}
	return m["/"]
}

// FuzzMatchSame: a table matches as the plain lookup per segment does,
// for domains of few routes (an array) and of many (a map).
func FuzzMatchSame(f *testing.F) {
	f.Add("/api /api/v1 / /a/b/c", "/api/v1/x", 3)
	f.Add("/x /x/y", "x/y", 20)
	f.Add("/", "", 1)
	f.Add("/a /ab /a/b", "/a//b/", 9)
	f.Fuzz(func(t *testing.T, paths, req string, pad int) {
		ref := map[string]*Route{}
		var rs []Route
		for p := range strings.FieldsSeq(paths) {
			r := Route{Domain: "h.example", Path: p, Function: "f"}
			if r.Normalize() == nil && ref[r.Path] == nil {
				rs = append(rs, r)
				ref[r.Path] = &rs[len(rs)-1]
			}
		}
		for i := range pad % 40 { // past fewPaths: the map form
			r := Route{Domain: "h.example", Path: fmt.Sprintf("/pad%d", i), Function: "f"}
			if r.Normalize() == nil && ref[r.Path] == nil {
				rs = append(rs, r)
			}
		}
		ref = map[string]*Route{}
		for i := range rs {
			ref[rs[i].Path] = &rs[i]
		}
		tab := NewTable(rs, nil)
		got, want := tab.Match("H.example", req), refLongest(ref, req)
		if (got == nil) != (want == nil) || got != nil && got.Path != want.Path {
			t.Fatalf("Match(%q) over %d routes = %v, want %v", req, len(rs), got, want)
		}
	})
}

// TestTableEditFewMany: a domain that grows past fewPaths routes and
// shrinks back matches the same at every step, and older tables too.
func TestTableEditFewMany(t *testing.T) {
	t.Parallel()
	var rs []Route
	for i := range 3 * fewPaths {
		rs = append(rs, mustRoutes(t, Route{Domain: "h.example", Path: fmt.Sprintf("/p/%d", i), Function: fmt.Sprint(i)})...)
	}
	tab := NewTable(nil, nil)
	var tabs []*Table
	for i := range rs {
		b := tab.Edit()
		b.Set(rs[i])
		tab = b.Table()
		tabs = append(tabs, tab)
	}
	for i := len(rs) - 1; i > 0; i-- {
		b := tab.Edit()
		b.Delete(rs[i])
		tab = b.Table()
		tabs = append(tabs, tab)
	}
	for k, tab := range tabs {
		n := k + 1 // routes 0..n-1 on the way up, then fewer on the way down
		if k >= len(rs) {
			n = 2*len(rs) - 1 - k
		}
		if tab.Len() != n {
			t.Fatalf("table %d: Len = %d, want %d", k, tab.Len(), n)
		}
		for i := range rs {
			r := tab.Match("h.example", fmt.Sprintf("/p/%d/x", i))
			if (r != nil) != (i < n) || r != nil && r.Function != fmt.Sprint(i) {
				t.Fatalf("table %d (%d routes): Match(/p/%d/x) = %v", k, n, i, r)
			}
		}
	}
}

// TestTablePageByFunction: pages by function, read from the table's index
// by function, list what a scan of the whole table finds, after edits
// that move routes between functions, replace and delete them.
func TestTablePageByFunction(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	random := func() Route {
		return mustRoutes(t, Route{Domain: fmt.Sprintf("h%d.example", rng.IntN(30)), Path: fmt.Sprintf("/p%d", rng.IntN(20)), Function: fmt.Sprintf("f%d", rng.IntN(6))})[0]
	}
	tab := NewTable(nil, nil)
	for range 50 {
		b := tab.Edit()
		for range 40 {
			b.Set(random())
		}
		for range 15 {
			r := random()
			if cur := tab.Match(r.Domain, r.Path); cur != nil && cur.Domain == r.Domain && cur.Path == r.Path {
				b.Delete(*cur)
			}
		}
		tab = b.Table()
		for f := range 7 {
			fn := fmt.Sprintf("f%d", f)
			var want []string
			for _, r := range tab.Routes() {
				if r.Function == fn && strings.HasPrefix(r.Path, "/p1") {
					want = append(want, r.Key())
				}
			}
			slices.Sort(want)
			var got []string
			q := Query{Function: fn, PathPrefix: "/p1", Limit: 7}
			for range 100 {
				rs, more := tab.Page(q)
				for _, r := range rs {
					got = append(got, r.Key())
				}
				if !more {
					break
				}
				q.After = rs[len(rs)-1].Key()
			}
			if !slices.Equal(got, want) {
				t.Fatalf("function %s: pages %q, want %q", fn, got, want)
			}
		}
	}
}
