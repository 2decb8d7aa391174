package route

import (
	"encoding/json"
	"errors"
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

// NormalizeHost lower-cases a Host header value and strips its port and a
// trailing dot, allocating only when the host has upper-case letters.
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
	// "example.com." is the fully qualified form of "example.com": the
	// same name, so the same routes.
	if len(h) > 1 && h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
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
