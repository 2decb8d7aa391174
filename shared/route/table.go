package route

import (
	"encoding/json"
	"strings"
)

// Table matches requests to routes. It is immutable: a gateway builds a new
// one whenever its route set changes and swaps it in atomically.
type Table struct {
	exact        map[string]map[string]*Route // host → path → route
	deflt        map[string]*Route
	any          map[string]*Route
	defaultHosts map[string]bool
	routes       []Route
}

// NewTable builds a table from normalised routes. defaultHosts are the hosts
// that routes with domain "default" match.
func NewTable(routes []Route, defaultHosts []string) *Table {
	t := &Table{
		exact:        make(map[string]map[string]*Route),
		deflt:        make(map[string]*Route),
		any:          make(map[string]*Route),
		defaultHosts: make(map[string]bool, len(defaultHosts)),
		routes:       make([]Route, len(routes)),
	}
	for _, h := range defaultHosts {
		if h = NormalizeHost(strings.TrimSpace(h)); h != "" {
			t.defaultHosts[h] = true
		}
	}
	copy(t.routes, routes)
	for i := range t.routes {
		r := &t.routes[i]
		r.encoded, _ = json.Marshal(r)
		r.label = r.Domain + r.Path
		switch r.Domain {
		case DomainDefault:
			t.deflt[r.Path] = r
		case DomainAny:
			t.any[r.Path] = r
		default:
			m := t.exact[r.Domain]
			if m == nil {
				m = make(map[string]*Route)
				t.exact[r.Domain] = m
			}
			m[r.Path] = r
		}
	}
	return t
}

// Match returns the route serving host and path (a request's Host header and
// URL path), or nil.
func (t *Table) Match(host, path string) *Route {
	host = NormalizeHost(host)
	if m := t.exact[host]; m != nil {
		if r := longest(m, path); r != nil {
			return r
		}
	}
	if t.defaultHosts[host] {
		if r := longest(t.deflt, path); r != nil {
			return r
		}
	}
	return longest(t.any, path)
}

// longest finds the longest trigger path in m that is a segment prefix of p.
func longest(m map[string]*Route, p string) *Route {
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

// NormalizeHost lower-cases a Host header value and strips its port,
// allocating only when the host has upper-case letters.
func NormalizeHost(h string) string {
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
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
