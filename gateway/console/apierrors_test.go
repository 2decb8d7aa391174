package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/fngate/fngate/shared/route"
)

// TestAPIErrorsBesideFields: the admin API's own errors, with their field,
// reach the console's forms: filter parameters (ParamError) beside the
// filter field, route fields (INVALID_ROUTE) and ROUTE_EXISTS beside the
// route form's field, and errors no field explains as an error page with
// the API's status, message and code.
func TestAPIErrorsBesideFields(t *testing.T) {
	s := newStack(t)
	rt := route.Route{Domain: "default", Path: "/taken", Function: "hello"}
	if err := s.Routes.Create(context.Background(), &rt); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s.console)
	csrf := c.signIn()
	fieldErr := func(body, field string) string {
		t.Helper()
		// The invocation filter marks its field; the route form names its error.
		if m := regexp.MustCompile(`(?s)id="` + field + `-error">([^<]*)<`).FindStringSubmatch(body); m != nil {
			return html.UnescapeString(m[1])
		}
		m := regexp.MustCompile(`(?s)<div class="field invalid">\s*<label for="f-` + field + `">.*?<p class="field-error">([^<]*)</p>`).FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return html.UnescapeString(m[1])
	}

	for _, tc := range []struct{ query, field, want string }{
		{"since=yesterday", "since", "invalid request: since: must be an RFC 3339 time such as 2026-01-02T15:04:05Z"},
		{"until=2026-13-01T00:00", "until", "invalid request: until: must be an RFC 3339 time"},
		{"status=lost", "status", `invalid request: status: "lost" is not queued, running, failed, succeeded, dead or cancelled`},
	} {
		status, _, body := c.do("GET", "/console/invocations?"+tc.query, nil, nil)
		if got := fieldErr(body, tc.field); status != http.StatusBadRequest || !strings.HasPrefix(got, tc.want) {
			t.Errorf("invocations?%s: %d, error beside %s %q; want 400 and %q", tc.query, status, tc.field, got, tc.want)
		}
	}
	if status, _, body := c.do("GET", "/console/invocations/replay?since=yesterday", nil, nil); status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), "since: invalid request: since: must be an RFC 3339") {
		t.Errorf("bulk replay with a bad filter: %d", status)
	}

	form := func(path, timeout string) url.Values {
		return url.Values{"_csrf": {csrf}, "resourceType": {"function"}, "function": {"hello"}, "domainKind": {"default"}, "path": {path}, "timeout": {timeout}}
	}
	for _, tc := range []struct {
		form        url.Values
		field, want string
	}{
		{form("/taken", ""), "path", "a route with this domain and path exists"},
		{form("/fresh", "soon"), "timeout", `invalid route: timeout: "soon" is not a duration such as "15s"`},
		{form("/fresh", "48h"), "timeout", "invalid route: timeout: 48h0m0s is outside 1ms.."},
		{form("no-slash", ""), "path", "invalid route: path:"},
		{withValues(form("/fresh", ""), "mode", "async", "refuseAsync", "1"), "mode", "invalid route: allowAsync: an async route must allow async"},
	} {
		status, _, body := c.do("POST", "/console/routes", tc.form, map[string]string{"Origin": s.console})
		if got := fieldErr(body, tc.field); status != http.StatusUnprocessableEntity || !strings.Contains(got, tc.want) {
			t.Errorf("route form %v: %d, error beside %s %q; want 422 and %q", tc.form, status, tc.field, got, tc.want)
		}
	}
	if n := s.routeCount(t); n != 1 {
		t.Fatalf("refused forms changed the table: %d routes", n)
	}
	// The checkbox makes a sync-only route (allowAsync false).
	if status, _, body := c.do("POST", "/console/routes", withValues(form("/sync-only", ""), "refuseAsync", "1"), map[string]string{"Origin": s.console}); status != http.StatusSeeOther {
		t.Fatalf("sync-only route form: %d %s", status, body)
	}
	rs, _, err := s.Routes.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range rs {
		if rt.Path == "/sync-only" && rt.AsyncAllowed() || rt.Path == "/taken" && !rt.AsyncAllowed() {
			t.Fatalf("route %s allowAsync %v", rt.Path, rt.AllowAsync)
		}
	}

	for _, tc := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/console/routes/0123456789abcdef/edit", http.StatusNotFound, "(ROUTE_NOT_FOUND)"},
		{"GET", "/console/invocations/0123456789abcdef0123456789abcdef", http.StatusNotFound, "no such invocation, or its record expired (INVOCATION_NOT_FOUND)"},
		{"POST", "/console/invocations/0123456789abcdef0123456789abcdef/replay", http.StatusNotFound, "(INVOCATION_NOT_FOUND)"},
		{"POST", "/console/routes/0123456789abcdef/delete", http.StatusNotFound, "(ROUTE_NOT_FOUND)"},
	} {
		var f url.Values
		if tc.method == "POST" {
			f = url.Values{"_csrf": {csrf}}
		}
		status, _, body := c.do(tc.method, tc.path, f, map[string]string{"Origin": s.console})
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d, want %d and %q in: %s", tc.method, tc.path, status, tc.status, tc.want, regexp.MustCompile(`(?s)<p class="error"[^>]*>.*?</p>`).FindString(body))
		}
	}
}

// withValues is v with the pairs kv set.
func withValues(v url.Values, kv ...string) url.Values {
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}
