package route

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/subject"
)

func mustRoutes(t testing.TB, rs ...Route) []Route {
	t.Helper()
	for i := range rs {
		if err := rs[i].Normalize(); err != nil {
			t.Fatalf("route %d: %v", i, err)
		}
	}
	return rs
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	r := Route{Domain: " Example.COM ", Path: "/api/hello/", Function: "hello-world", Methods: []string{"post", "GET", "get"}}
	if err := r.Normalize(); err != nil {
		t.Fatal(err)
	}
	if r.Domain != "example.com" || r.Path != "/api/hello" || strings.Join(r.Methods, ",") != "GET,POST" ||
		time.Duration(r.Timeout) != DefaultTimeout || r.ID != ID("example.com", "/api/hello") {
		t.Fatalf("Normalize = %+v", r)
	}
	async := Route{Domain: "*", Path: "/jobs", Function: "f", Mode: "ASYNC", Retry: &Retry{MaxAttempts: 5}}
	if err := async.Normalize(); err != nil || !async.Async() || async.RetryPolicy() != (Retry{5, Duration(DefaultInitialDelay), Duration(DefaultMaxDelay)}) {
		t.Fatalf("async route = %+v, %v", async, err)
	}
	root := Route{Domain: "*", Path: "///", Function: "f"}
	if err := root.Normalize(); err != nil || root.Path != "/" {
		t.Fatalf("root = %+v, %v", root, err)
	}
	bad := []struct {
		r     Route
		field string
	}{
		{Route{Domain: "", Path: "/", Function: "f"}, "domain"},
		{Route{Domain: "host:80", Path: "/", Function: "f"}, "domain"},
		{Route{Domain: "http://x", Path: "/", Function: "f"}, "domain"},
		{Route{Domain: "*", Path: "api", Function: "f"}, "path"},
		{Route{Domain: "*", Path: "/a//b", Function: "f"}, "path"},
		{Route{Domain: "*", Path: "/a/../b", Function: "f"}, "path"},
		{Route{Domain: "*", Path: "/a?b", Function: "f"}, "path"},
		{Route{Domain: "*", Path: "/a b", Function: "f"}, "path"},
		{Route{Domain: "*", Path: "/a", Function: "Hello"}, "function"},
		{Route{Domain: "*", Path: "/a", Function: "a.>"}, "function"},
		{Route{Domain: "*", Path: "/a", Function: "f", Methods: []string{"BREW"}}, "methods"},
		{Route{Domain: "*", Path: "/a", Function: "f", Timeout: Duration(time.Hour)}, "timeout"},
		{Route{Domain: "*", Path: "/a", Function: "f", Mode: "later"}, "mode"},
		{Route{Domain: "*", Path: "/a", Function: "f", Mode: "async", AllowAsync: new(false)}, "allowAsync"},
		{Route{Domain: "*", Path: "/a", Function: "f", Retry: &Retry{MaxAttempts: -1}}, "retry.maxAttempts"},
		{Route{Domain: "*", Path: "/a", Function: "f", Retry: &Retry{InitialDelay: Duration(time.Minute), MaxDelay: Duration(time.Second)}}, "retry.maxDelay"},
		{Route{Domain: "*", Path: "/invocations/x", Function: "f"}, "path"},
		{Route{Domain: "*", Path: "/a", Function: "f", MaxEventAge: Duration(8 * 24 * time.Hour)}, "maxEventAge"},
		{Route{Domain: "*", Path: "/a", Function: "f", MaxEventAge: Duration(-time.Second)}, "maxEventAge"},
		{Route{Domain: "*", Path: "/a", Function: "f", MaxEventAge: Duration(time.Millisecond)}, "maxEventAge"},
		{Route{Domain: "*", Path: "/a", Function: "f", StreamIdleTimeout: Duration(time.Millisecond)}, "streamIdleTimeout"},
		{Route{Domain: "*", Path: "/a", Function: "f", StreamIdleTimeout: Duration(time.Hour)}, "streamIdleTimeout"},
		// 1s+2s of retries (2.4s at the lowest jitter) cannot fit in 2s.
		{Route{Domain: "*", Path: "/a", Function: "f", MaxEventAge: Duration(2 * time.Second)}, "retry"},
		// Retries capped at 24h, 100 attempts: far past the default 6h.
		{Route{Domain: "*", Path: "/a", Function: "f", Retry: &Retry{MaxAttempts: 10, InitialDelay: Duration(time.Hour), MaxDelay: Duration(24 * time.Hour)}}, "retry"},
	}
	for _, b := range bad {
		err := b.r.Normalize()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != b.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%+v) = %v, want field %s", b.r, err, b.field)
		}
	}
}

// maxEventAge defaults to 6h; a policy whose retries fit in it is valid.
func TestMaxEventAge(t *testing.T) {
	r := Route{Domain: "*", Path: "/a", Function: "f", Mode: ModeAsync, MaxEventAge: Duration(time.Minute),
		Retry: &Retry{MaxAttempts: 4, InitialDelay: Duration(5 * time.Second), MaxDelay: Duration(20 * time.Second)}}
	if err := r.Normalize(); err != nil {
		t.Fatal(err)
	}
	if r.EventAge() != time.Minute {
		t.Fatalf("EventAge = %s", r.EventAge())
	}
	// 5s+10s+20s, each 20% shorter at the lowest jitter.
	if got := r.RetryPolicy().MinRetrySpan(); got != 28*time.Second {
		t.Fatalf("MinRetrySpan = %s, want 28s", got)
	}
	if d := (&Route{}).EventAge(); d != 6*time.Hour {
		t.Fatalf("default EventAge = %s", d)
	}
}

func TestParseFile(t *testing.T) {
	t.Parallel()
	rs, err := ParseFile([]byte(`
routes:
  - domain: "*"
    path: /api/hello
    function: hello-world
    methods: [GET, POST]
    timeout: 3s
    stripPrefix: true
  - {domain: "*", path: /sync-only, function: f, allowAsync: false}
  - {domain: "*", path: /either, function: f, allowAsync: true}
`))
	if err != nil || len(rs) != 3 || time.Duration(rs[0].Timeout) != 3*time.Second || !rs[0].StripPrefix {
		t.Fatalf("ParseFile = %+v, %v", rs, err)
	}
	// allowAsync: absent and true allow (true normalised away), false refuses.
	if !rs[0].AsyncAllowed() || rs[1].AsyncAllowed() || !rs[2].AsyncAllowed() || rs[2].AllowAsync != nil ||
		!strings.Contains(string(rs[1].JSON()), `"allowAsync":false`) || strings.Contains(string(rs[0].JSON()), "allowAsync") {
		t.Fatalf("allowAsync: %s %s %s", rs[0].JSON(), rs[1].JSON(), rs[2].JSON())
	}
	for _, bad := range []string{
		"routes:\n  - {domain: '*', path: /a, function: f, bogus: 1}\n",
		"routes:\n  - {domain: '*', path: /a, function: f, timeout: soon}\n",
		"routes:\n  - {domain: '*', path: /a, function: f}\n  - {domain: '*', path: /a/, function: g}\n",
	} {
		if _, err := ParseFile([]byte(bad)); err == nil {
			t.Errorf("ParseFile(%q) succeeded", bad)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tab := NewTable(mustRoutes(t,
		Route{Domain: "*", Path: "/", Function: "root"},
		Route{Domain: "*", Path: "/api", Function: "any-api"},
		Route{Domain: "*", Path: "/api/users", Function: "users"},
		Route{Domain: "default", Path: "/api", Function: "default-api"},
		Route{Domain: "shop.example.com", Path: "/api", Function: "shop-api"},
	), []string{"localhost", "127.0.0.1", "::1"})
	cases := []struct{ host, path, want string }{
		{"shop.example.com", "/api/x", "shop-api"},
		{"SHOP.example.com:8080", "/api", "shop-api"},
		{"shop.example.com", "/other", "root"}, // exact domain has no /other: falls through to *
		{"localhost:8080", "/api/users/1", "default-api"},
		{"[::1]:8080", "/api", "default-api"},
		{"shop.example.com.", "/api", "shop-api"}, // fully qualified
		{"Shop.Example.com.:8080", "/api", "shop-api"},
		{"localhost.:8080", "/api", "default-api"},
		{"other.com", "/api/users/1", "users"},
		{"other.com", "/api/users/", "users"},
		{"other.com", "/api/usersx", "any-api"},
		{"other.com", "/apix", "root"},
		{"other.com", "/", "root"},
		{"other.com", "", "root"},
	}
	for _, c := range cases {
		r := tab.Match(c.host, c.path)
		if r == nil || r.Function != c.want {
			t.Errorf("Match(%q, %q) = %+v, want %s", c.host, c.path, r, c.want)
		}
	}
	empty := NewTable(mustRoutes(t, Route{Domain: "*", Path: "/api", Function: "a"}), nil)
	if r := empty.Match("x", "/apix"); r != nil {
		t.Errorf("Match(/apix) = %+v, want nil", r)
	}
}

func TestEventPath(t *testing.T) {
	t.Parallel()
	r := mustRoutes(t, Route{Domain: "*", Path: "/api", Function: "f", StripPrefix: true})[0]
	for in, want := range map[string]string{"/api": "/", "/api/": "/", "/api/users/1": "/users/1"} {
		if got := r.EventPath(in); got != want {
			t.Errorf("EventPath(%q) = %q, want %q", in, got, want)
		}
	}
	r.StripPrefix = false
	if got := r.EventPath("/api/x"); got != "/api/x" {
		t.Errorf("EventPath without strip = %q", got)
	}
}

func TestCleanPath(t *testing.T) {
	cases := []struct{ path, raw, want string }{
		// Clean paths stay as they are.
		{"/", "", "/"}, {"/pay", "", "/pay"}, {"/pay/", "", "/pay/"}, {"/.well-known/x", "", "/.well-known/x"}, {"/a/..b/c.", "", "/a/..b/c."},
		// Dot segments and repeated slashes resolve as net/http's ServeMux resolves them.
		{"/public/../pay", "", "/pay"}, {"//pay", "", "/pay"}, {"/a/./b", "", "/a/b"}, {"/a//b///c", "", "/a/b/c"},
		{"/a/b/..", "", "/a/"}, {"/a/.", "", "/a/"}, {"/a/..", "", "/"}, {"//", "", "/"},
		// The raw path is decoded first: encoded dots are dots.
		{"/a/../b", "/a/%2e%2e/b", "/b"}, {"/a b", "/a%20b", "/a b"},
		// Refused (want ""): climbing above /, an encoded slash, no leading slash.
		{"/..", "", ""}, {"/../pay", "/%2e%2e/pay", ""}, {"/a/../../pay", "", ""},
		{"/pay/x", "/pay%2Fx", ""}, {"/pay/x", "/pay%2fx", ""}, {"*", "", ""}, {"", "", ""},
	}
	for _, c := range cases {
		got, err := CleanPath(c.path, c.raw)
		if c.want == "" {
			if !errors.Is(err, ErrInvalidPath) {
				t.Errorf("CleanPath(%q, %q) = %q, %v; want ErrInvalidPath", c.path, c.raw, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("CleanPath(%q, %q) = %q, %v; want %q", c.path, c.raw, got, err, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = CleanPath("/api/users/42", "") }); n != 0 {
		t.Errorf("CleanPath of a clean path allocates %v times", n)
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, p := range []string{"/", "/a/../b", "//x//", "/a/./b/.", "/..", "/a/b/../../.."} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := CleanPath(p, "")
		if err != nil {
			return
		}
		if c == "" || c[0] != '/' || strings.Contains(c, "//") {
			t.Fatalf("CleanPath(%q) = %q", p, c)
		}
		for seg := range strings.SplitSeq(c[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("CleanPath(%q) = %q keeps a dot segment", p, c)
			}
		}
		if again, err := CleanPath(c, ""); err != nil || again != c {
			t.Fatalf("CleanPath(%q) = %q, not idempotent: %q, %v", p, c, again, err)
		}
	})
}

func FuzzMatch(f *testing.F) {
	f.Add("/api", "localhost:80", "/api/x", "fn")
	f.Add("/", "[::1]:1", "//", "a.b")
	f.Add("/a/b", "EXAMPLE.com", "/a/b/../c", "*")
	f.Fuzz(func(t *testing.T, routePath, host, reqPath, fn string) {
		r := Route{Domain: "*", Path: routePath, Function: fn}
		if r.Normalize() != nil {
			return
		}
		if _, err := subject.Invoke(r.Function); err != nil {
			t.Fatalf("valid route %+v has no valid subject: %v", r, err)
		}
		tab := NewTable([]Route{r}, []string{host})
		m := tab.Match(host, reqPath)
		if m == nil {
			return
		}
		p := strings.TrimRight(reqPath, "/")
		if m.Path != "/" && !(p == m.Path || strings.HasPrefix(p, m.Path+"/")) {
			t.Fatalf("route %q matched %q across a segment boundary", m.Path, reqPath)
		}
		if ep := m.EventPath(reqPath); ep == "" || ep[0] != '/' {
			t.Fatalf("EventPath(%q) = %q", reqPath, ep)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	var rs []Route
	for _, p := range []string{"/", "/api", "/api/users", "/api/orders", "/static", "/v1/a/b/c"} {
		rs = append(rs, Route{Domain: "*", Path: p, Function: "f"}, Route{Domain: "shop.example.com", Path: p, Function: "g"})
	}
	tab := NewTable(mustRoutes(b, rs...), []string{"localhost"})
	b.ReportAllocs()
	for b.Loop() {
		if tab.Match("Shop.Example.com:8080", "/api/users/42/orders") == nil {
			b.Fatal("no match")
		}
	}
}

func BenchmarkCleanPath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CleanPath("/api/users/42/orders", ""); err != nil {
			b.Fatal(err)
		}
	}
}
