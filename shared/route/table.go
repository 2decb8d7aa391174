package route

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"unique"
	"unsafe"
)

// Table matches requests to routes. It is immutable: a gateway swaps in a
// new one atomically whenever its route set changes. A new table is made by
// [Table.Edit] from the last one and shares with it every domain the change
// did not touch, so that one change to a table of 100,000 routes costs
// microseconds, not a rebuild.
type Table struct {
	domains      *pmap[pathSet]       // domain ("default", "*" or a host) → path → route
	deflt, any   pathSet              // domains' "default" and "*", looked up once
	hosts        hostIndex            // domains as Match reads them
	functions    *pmap[*pmap[*Route]] // function → label (domain+path) → route
	defaultHosts map[string]bool
	n            int
}

// NewTable builds a table from normalised routes. defaultHosts are the hosts
// that routes with domain "default" match.
func NewTable(routes []Route, defaultHosts []string) *Table {
	b := NewBuilder(defaultHosts)
	b.Set(routes...)
	return b.Table()
}

// NewBuilder starts an empty table; defaultHosts are the hosts that routes
// with domain "default" match.
func NewBuilder(defaultHosts []string) *Builder {
	t := &Table{defaultHosts: make(map[string]bool, len(defaultHosts))}
	for _, h := range defaultHosts {
		if h = NormalizeHost(strings.TrimSpace(h)); h != "" {
			t.defaultHosts[h] = true
		}
	}
	return t.Edit()
}

// Builder is a batch of changes to a table: routes set (created or
// replaced, by domain and path) and deleted. The table it started from
// does not change.
type Builder struct {
	base    *Table
	n       int
	domains *pmapEdit[pathSet]
	paths   map[string]*pmapEdit[*Route] // domains touched
	fns     *pmapEdit[*pmap[*Route]]
	fnPaths map[string]*pmapEdit[*Route] // functions touched
	methods map[string][]string          // by the methods joined
	strs    map[string]string            // interned
}

// Edit starts a batch of changes to t.
func (t *Table) Edit() *Builder {
	return &Builder{base: t, n: t.n, domains: t.domains.edit(), paths: map[string]*pmapEdit[*Route]{},
		fns: t.functions.edit(), fnPaths: map[string]*pmapEdit[*Route]{}, methods: map[string][]string{}, strs: map[string]string{}}
}

// function is the edit of function f's index.
func (b *Builder) function(f string) *pmapEdit[*Route] { return editAt(b.fnPaths, b.fns, f) }

func (b *Builder) domain(d string) *pmapEdit[*Route] { return editAt(b.paths, b.domains, d) }

// editAt is the edit of the inner map at k of outer, started once per
// Builder and kept in edits.
func editAt[V interface{ edit() *pmapEdit[*Route] }](edits map[string]*pmapEdit[*Route], outer *pmapEdit[V], k string) *pmapEdit[*Route] {
	e := edits[k]
	if e == nil {
		cur, _ := outer.get(k)
		e = cur.edit()
		edits[k] = e
	}
	return e
}

// Set adds normalised routes, replacing those at the same domain and path.
// They are copied.
func (b *Builder) Set(routes ...Route) {
	slab := slices.Clone(routes)
	for i := range slab {
		r := &slab[i]
		b.compact(r)
		if old, ok := b.domain(r.Domain).set(r.Path, r); ok {
			b.function(old.Function).del(old.Label())
		} else {
			b.n++
		}
		b.function(r.Function).set(r.label, r)
	}
}

// compact makes r share what it can: its domain and path are the two
// halves of its label (which requests' metrics need whole), and its
// function, mode and methods are the table's one copy of each value. A
// table of 100,000 routes so holds one small string and one struct per
// route, not six allocations. Routes of a table are read, never written.
func (b *Builder) compact(r *Route) {
	r.label = r.Domain + r.Path
	r.Domain, r.Path = r.label[:len(r.Domain)], r.label[len(r.Domain):]
	r.Function = b.intern(r.Function)
	if r.Mode != "" {
		r.Mode = b.intern(r.Mode)
	}
	if len(r.Methods) > 0 {
		var buf [64]byte
		key := buf[:0]
		for _, m := range r.Methods {
			key = append(append(key, m...), ',')
		}
		if m, ok := b.methods[string(key)]; ok {
			r.Methods = m
		} else {
			r.Methods = slices.Clip(r.Methods)
			b.methods[string(key)] = r.Methods
		}
	}
}

// intern returns the table's one copy of s: unique's, shared with other
// tables, which the Builder remembers (a map lookup costs less).
func (b *Builder) intern(s string) string {
	if v, ok := b.strs[s]; ok {
		return v
	}
	v := unique.Make(s).Value()
	b.strs[v] = v
	return v
}

// Delete removes the routes at the domains and paths of routes, when they
// are still the same routes (the same ID).
func (b *Builder) Delete(routes ...Route) {
	for i := range routes {
		e := b.domain(routes[i].Domain)
		if old, ok := e.get(routes[i].Path); ok && old.ID == routes[i].ID {
			e.del(routes[i].Path)
			b.function(old.Function).del(old.Label())
			b.n--
		}
	}
}

// Table returns the table with the changes applied. The table shares
// what b changed: b is done with.
func (b *Builder) Table() *Table {
	for d, e := range b.paths {
		if m := e.done(); m.len() == 0 {
			b.domains.del(d)
		} else {
			b.domains.set(newPathSet(d, m))
		}
	}
	for f, e := range b.fnPaths {
		if m := e.done(); m.len() == 0 {
			b.fns.del(f)
		} else {
			b.fns.set(f, m)
		}
	}
	t := &Table{domains: b.domains.done(), functions: b.fns.done(), defaultHosts: b.base.defaultHosts, n: b.n}
	t.hosts = b.base.hosts.update(t.domains, b.domains)
	t.deflt, _ = t.domains.get(DomainDefault)
	t.any, _ = t.domains.get(DomainAny)
	return t
}

// Len is the number of routes in t.
func (t *Table) Len() int { return t.n }

// Routes returns a copy of every route in t, in no order.
func (t *Table) Routes() []Route {
	out := make([]Route, 0, t.n)
	t.domains.each(func(_ string, m pathSet) {
		m.each(func(_ string, r *Route) { out = append(out, *r) })
	})
	return out
}

// Query selects a page of a table's routes, in (domain, path) order.
type Query struct {
	// Domain, when set, is the only domain listed.
	Domain string
	// PathPrefix keeps the routes whose trigger path starts with it.
	PathPrefix string
	// Function keeps the routes of this function.
	Function string
	// After is the [Key] of the last route of the previous page.
	After string
	// Limit is the most routes returned.
	Limit int
}

// Key is the place of r in (domain, path) order, as [Query.After] takes it.
func (r *Route) Key() string { return r.Domain + "\x00" + r.Path }

// Page returns the routes q selects and whether more follow. A page costs
// the sort of the domains' names (not of the routes): an admin's list, not
// a request's path.
func (t *Table) Page(q Query) ([]Route, bool) {
	afterD, afterP, _ := strings.Cut(q.After, "\x00")
	if q.Function != "" {
		return t.functionPage(q, afterD, afterP)
	}
	var doms []string
	if q.Domain != "" {
		if q.Domain >= afterD {
			doms = []string{q.Domain}
		}
	} else {
		t.domains.each(func(d string, _ pathSet) {
			if d >= afterD {
				doms = append(doms, d)
			}
		})
		slices.Sort(doms)
	}
	out := make([]Route, 0, min(q.Limit, 64))
	var paths []*Route
	for _, d := range doms {
		m, _ := t.domains.get(d)
		paths = paths[:0]
		m.each(func(p string, r *Route) {
			if (d > afterD || p > afterP) && strings.HasPrefix(p, q.PathPrefix) && (q.Function == "" || r.Function == q.Function) {
				paths = append(paths, r)
			}
		})
		slices.SortFunc(paths, func(a, b *Route) int { return strings.Compare(a.Path, b.Path) })
		for _, r := range paths {
			if len(out) == q.Limit {
				return out, true
			}
			out = append(out, *r)
		}
	}
	return out, false
}

// functionPage is Page for a query by function: it costs the function's
// routes, from the table's index by function, not the table.
func (t *Table) functionPage(q Query, afterD, afterP string) ([]Route, bool) {
	m, _ := t.functions.get(q.Function)
	var rs []*Route
	m.each(func(_ string, r *Route) {
		if (q.Domain == "" || r.Domain == q.Domain) && (r.Domain > afterD || r.Domain == afterD && r.Path > afterP) && strings.HasPrefix(r.Path, q.PathPrefix) {
			rs = append(rs, r)
		}
	})
	slices.SortFunc(rs, func(a, b *Route) int {
		return cmp.Or(strings.Compare(a.Domain, b.Domain), strings.Compare(a.Path, b.Path))
	})
	out := make([]Route, 0, min(q.Limit, len(rs)))
	for _, r := range rs[:min(q.Limit, len(rs))] {
		out = append(out, *r)
	}
	return out, len(rs) > q.Limit
}

// Match returns the route serving host and path (a request's Host header and
// URL path), or nil. It does not allocate.
func (t *Table) Match(host, path string) *Route {
	if !plainHost(host) {
		return t.matchHeader(host, path)
	}
	return t.match(host, path)
}

// matchHeader is Match for a Host header with a port, brackets, a
// trailing dot or capitals.
func (t *Table) matchHeader(host, path string) *Route {
	var buf [hostBuf]byte
	return t.match(lowerHost(&buf, trimHost(host)), path)
}

// match is Match for a normalised host.
func (t *Table) match(host, path string) *Route {
	// "default" and "*" are names of the table's own, not hosts.
	if host != DomainDefault && host != DomainAny {
		r, found := t.hosts.match(pmapHash(host), host, path)
		if found == hostMany { // a domain of many routes: rare
			m, _ := t.domains.get(host)
			r = m.longest(path)
		}
		if r != nil {
			return r
		}
	}
	if t.defaultHosts[host] {
		if r := t.deflt.longest(path); r != nil {
			return r
		}
	}
	return t.any.longest(path)
}

// plainHost reports whether Host header h is a host as the table keys it
// (no port, brackets, trailing dot or capitals), as most are: checked 8
// bytes at a time, for a match at 100,000 routes costs about what it
// reads from memory and not much more.
func plainHost(h string) bool {
	if h == "" {
		return true
	}
	if h[0] == '[' || h[len(h)-1] == '.' {
		return false
	}
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(h); i += 8 {
		x := uint64(h[i]) | uint64(h[i+1])<<8 | uint64(h[i+2])<<16 | uint64(h[i+3])<<24 |
			uint64(h[i+4])<<32 | uint64(h[i+5])<<40 | uint64(h[i+6])<<48 | uint64(h[i+7])<<56
		// Each byte below 0x80 plus a constant sets its high bit from
		// a bound on: 'A' or more and not past 'Z' is a capital.
		// Without their high bits no byte carries into the next.
		y := x &^ highs
		upper := (y + ones*(0x80-'A')) &^ (y + ones*(0x80-'Z'-1)) &^ x & highs
		v := x ^ ones*':' // a zero byte where a colon was
		if upper|(v-ones)&^v&highs != 0 {
			return false
		}
	}
	for ; i < len(h); i++ {
		if c := h[i]; c-'A' < 26 || c == ':' {
			return false
		}
	}
	return true
}

// hostBuf is the longest host Match lower-cases on the stack (a DNS name
// has at most 253 bytes).
const hostBuf = 256

// lowerHost returns h in lower case: h itself when it is (the common
// case), else a copy in buf. The copy is a string over buf, which Match
// only reads while buf lives: a Host header in capitals so costs no
// allocation either.
func lowerHost(buf *[hostBuf]byte, h string) string {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			if len(h) > len(buf) {
				return strings.ToLower(h)
			}
			for j := 0; j < len(h); j++ {
				c := h[j]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				buf[j] = c
			}
			return unsafe.String(&buf[0], len(h))
		}
	}
	return h
}

// pathSet is one domain's routes by trigger path. Most domains have a
// few routes: those are a short array, longest path first, which a match
// scans with no hashing (one hash lookup per segment of the request path
// would cost more than comparing a few prefixes); a domain with more
// routes is a pmap, looked up once per segment. (Match reads few-route
// domains from the table's hostIndex; the array serves "default", "*"
// and edits.)
type pathSet struct {
	few  []*Route
	many *pmap[*Route]
}

// fewPaths is the most routes a domain holds in an array.
const fewPaths = 8

// newPathSet returns the name to key domain d by and its routes m.
func newPathSet(d string, m *pmap[*Route]) (string, pathSet) {
	if m.len() > fewPaths {
		return d, pathSet{many: m}
	}
	few := make([]*Route, 0, m.len())
	m.each(func(_ string, r *Route) { few = append(few, r) })
	slices.SortFunc(few, func(a, b *Route) int { return len(b.Path) - len(a.Path) })
	return d, pathSet{few: few}
}

func (s pathSet) each(fn func(p string, r *Route)) {
	if s.many != nil {
		s.many.each(fn)
		return
	}
	for _, r := range s.few {
		fn(r.Path, r)
	}
}

func (s pathSet) edit() *pmapEdit[*Route] {
	if s.many != nil {
		return s.many.edit()
	}
	e := (*pmap[*Route])(nil).edit()
	for _, r := range s.few {
		e.set(r.Path, r)
	}
	return e
}

// longest finds the route whose trigger path is the longest segment
// prefix of p: p itself without trailing slashes, or p up to a slash; "/"
// matches every path.
func (s pathSet) longest(p string) *Route {
	if s.many == nil {
		for _, r := range s.few {
			if segPrefix(r.Path, p) {
				return r
			}
		}
		return nil
	}
	if s.many.len() == 0 {
		return nil
	}
	p = strings.TrimRight(p, "/")
	for p != "" {
		if r, _ := s.many.get(p); r != nil {
			return r
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = strings.TrimRight(p[:i], "/")
	}
	r, _ := s.many.get("/")
	return r
}

// segPrefix reports whether trigger path fp serves request path p: fp is
// p, or p up to a slash, or "/".
func segPrefix(fp, p string) bool {
	n := len(fp)
	return n <= len(p) && p[:n] == fp && (n == len(p) || p[n] == '/') || fp == "/"
}

// NormalizeHost lower-cases a Host header value and strips its port and a
// trailing dot, allocating only when the host has upper-case letters.
func NormalizeHost(h string) string {
	h = trimHost(h)
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// trimHost strips a Host header value's port, brackets and trailing dot.
func trimHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		// "[::1]:8080" or "host:8080"; a bare IPv6 literal has no brackets
		// only when malformed, and is then left alone.
		if j := strings.LastIndexByte(h, ']'); j < i {
			if h[0] == '[' || strings.IndexByte(h, ':') == i {
				h = h[:i]
			}
		}
	}
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	// "example.com." is the fully qualified form of "example.com": the
	// same name, so the same routes.
	if len(h) > 1 && h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	return h
}

// ErrInvalidPath is returned by [CleanPath] for a path that cannot be
// served: one that climbs above "/", carries an encoded slash, or is not
// absolute.
var ErrInvalidPath = errors.New("invalid request path")

// CleanPath returns the path that requests to path (a decoded URL path)
// are matched and served by: "." and ".." segments resolved and repeated
// slashes collapsed; a trailing slash is kept. rawPath is the URL's
// RawPath (the path as sent, set only when it differs from the default
// encoding of path): an encoded slash (%2F) in it is refused, since a
// proxy before the gateway and the gateway itself would disagree on where
// the segments are. A path that climbs above "/" is refused too. The
// common, already clean path is returned as is, without allocating.
func CleanPath(path, rawPath string) (string, error) {
	if path == "" || path[0] != '/' {
		return "", ErrInvalidPath
	}
	if rawPath != "" && (strings.Contains(rawPath, "%2F") || strings.Contains(rawPath, "%2f")) {
		return "", ErrInvalidPath
	}
	if !strings.Contains(path, "//") && !strings.Contains(path, "/.") {
		return path, nil
	}
	segs := make([]string, 0, strings.Count(path, "/"))
	for seg := range strings.SplitSeq(path[1:], "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				return "", ErrInvalidPath
			}
			segs = segs[:len(segs)-1]
		default:
			segs = append(segs, seg)
		}
	}
	var b strings.Builder
	b.Grow(len(path))
	for _, seg := range segs {
		b.WriteByte('/')
		b.WriteString(seg)
	}
	// "/a/" stays "/a/", and so does "/a/." or "/a/b/..": a directory.
	if last := path[strings.LastIndexByte(path, '/')+1:]; b.Len() == 0 || last == "" || last == "." || last == ".." {
		b.WriteByte('/')
	}
	return b.String(), nil
}
