package console_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

const token = "console-test-token"

// stack is a gateway with the console, a worker and the test's functions.
type stack struct {
	*gatewaytest.Stack
	gw *gatewaytest.Gateway
	// console is the admin listener as browsers should reach it: by name,
	// since Secure cookies are kept for http://localhost only.
	console string
	// fixed makes the "flaky" function succeed.
	fixed atomic.Bool
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{Stack: gatewaytest.New(t)}
	s.gw = s.Gateway(gateway.Config{AdminToken: token})
	s.console = strings.Replace(s.gw.AdminURL, "127.0.0.1", "localhost", 1)
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"hello": sdk.HandlerFunc(func(_ context.Context, ev *event.Event) (any, error) {
			return "hello from " + ev.Path, nil
		}),
		"flaky": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			if !s.fixed.Load() {
				return nil, errors.New("downstream is down")
			}
			return map[string]bool{"ok": true}, nil
		}),
	})
	return s
}

// client is a browser-like HTTP client: it keeps cookies, follows no
// redirects, and sends the Origin a same-origin form post carries.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) do(method, path string, form url.Values, header map[string]string) (int, http.Header, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn signs c in and returns the session's CSRF token.
func (c *client) signIn() string {
	c.t.Helper()
	status, h, _ := c.do("POST", "/console/login", url.Values{"token": {token}, "next": {"/console/routes"}}, nil)
	if status != http.StatusSeeOther || h.Get("Location") != "/console/routes" {
		c.t.Fatalf("sign-in: %d to %q", status, h.Get("Location"))
	}
	status, _, page := c.do("GET", "/console/routes/new", nil, nil)
	m := csrfRE.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		c.t.Fatalf("new-route form: %d, CSRF token found: %v", status, m != nil)
	}
	return m[1]
}

func (s *stack) routeCount(t *testing.T) int {
	t.Helper()
	rs, _, err := s.Routes.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

// TestRefusals shows what the console refuses, over plain HTTP: no
// session, a wrong token, a post without the CSRF token or from another
// site. None of them changes anything.
func TestRefusals(t *testing.T) {
	s := newStack(t)
	form := url.Values{"resourceType": {"function"}, "function": {"hello"}, "domainKind": {"default"}, "path": {"/refused"}}

	anon := newClient(t, s.console)
	if status, h, _ := anon.do("GET", "/console/routes", nil, nil); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/console/login") {
		t.Fatalf("page without a session: %d to %q, want 303 to sign-in", status, h.Get("Location"))
	}
	if status, _, _ := anon.do("POST", "/console/routes", form, nil); status != http.StatusUnauthorized {
		t.Fatalf("post without a session: %d, want 401", status)
	}
	if status, h, body := anon.do("POST", "/console/login", url.Values{"token": {"wrong"}}, nil); status != http.StatusUnauthorized || h.Get("Set-Cookie") != "" || !strings.Contains(body, "That is not the admin token.") {
		t.Fatalf("wrong token: %d, cookie %q", status, h.Get("Set-Cookie"))
	}
	// A forged cookie is no session.
	forged := newClient(t, s.console)
	u, _ := url.Parse(s.console + "/console/")
	forged.http.Jar.SetCookies(u, []*http.Cookie{{Name: "fngate_console", Value: "abc.9999999999.bm90LWEtbWFj"}})
	if status, _, _ := forged.do("POST", "/console/routes", form, nil); status != http.StatusUnauthorized {
		t.Fatalf("post with a forged cookie: %d, want 401", status)
	}

	_, h, _ := newClient(t, s.console).do("POST", "/console/login", url.Values{"token": {token}}, nil)
	if ck := h.Get("Set-Cookie"); !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "Secure") || !strings.Contains(ck, "SameSite=Strict") {
		t.Fatalf("session cookie %q is not HttpOnly, Secure and SameSite=Strict", ck)
	}
	c := newClient(t, s.console)
	csrf := c.signIn()
	if status, _, _ := c.do("POST", "/console/routes", form, nil); status != http.StatusForbidden {
		t.Fatalf("post without the CSRF token: %d, want 403", status)
	}
	bad := url.Values{"_csrf": {"not-the-token"}}
	for k, v := range form {
		bad[k] = v
	}
	if status, _, _ := c.do("POST", "/console/routes", bad, nil); status != http.StatusForbidden {
		t.Fatalf("post with a wrong CSRF token: %d, want 403", status)
	}
	good := url.Values{"_csrf": {csrf}}
	for k, v := range form {
		good[k] = v
	}
	if status, _, _ := c.do("POST", "/console/routes", good, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); status != http.StatusForbidden {
		t.Fatalf("cross-site post with the right token: %d, want 403", status)
	}
	if n := s.routeCount(t); n != 0 {
		t.Fatalf("refused requests created %d routes", n)
	}
	// The same post, done right, works: the refusals were about the checks.
	if status, h, _ := c.do("POST", "/console/routes", good, map[string]string{"Origin": s.console}); status != http.StatusSeeOther || h.Get("Location") != "/console/routes?done=created" {
		t.Fatalf("good post: %d to %q", status, h.Get("Location"))
	}
	if r := gatewaytest.Get(t, s.gw.URL+"/refused"); r.Status != 200 || string(r.Body) != "hello from /refused" {
		t.Fatalf("created route answers %d %q", r.Status, r.Body)
	}
	// Signed out, the cookie is gone and so is access.
	if status, _, _ := c.do("POST", "/console/logout", url.Values{"_csrf": {csrf}}, nil); status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", status)
	}
	if status, _, _ := c.do("GET", "/console/routes", nil, nil); status != http.StatusSeeOther {
		t.Fatalf("page after sign-out: %d, want 303 to sign-in", status)
	}
}

// TestRouteTablePaging: the HTTP access table shows 50 associations a
// page, read a page at a time from the admin API, with a link to the next
// page (a cursor) and back to the first; the filter narrows it by domain,
// path prefix and function.
func TestRouteTablePaging(t *testing.T) {
	s := newStack(t)
	var rs []route.Route
	for i := range 115 {
		rs = append(rs, route.Route{Domain: "*", Path: fmt.Sprintf("/svc/%03d", i), Function: "hello"})
	}
	for i := range 5 {
		rs = append(rs, route.Route{Domain: "pay.example", Path: fmt.Sprintf("/pay/%d", i), Function: "flaky", Mode: route.ModeAsync})
	}
	for i := range rs {
		if err := rs[i].Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Routes.Put(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s.console)
	c.signIn()
	page := func(query string) string {
		t.Helper()
		status, _, body := c.do("GET", "/console/routes?"+query, nil, nil)
		if status != http.StatusOK {
			t.Fatalf("routes?%s: %d", query, status)
		}
		return body
	}
	rows := func(body string) int { return strings.Count(body, `<tr data-route=`) }
	link := func(body, rel string) string {
		m := regexp.MustCompile(`href="/console/routes\?([^"]*)" rel="` + rel + `"`).FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return html.UnescapeString(m[1])
	}
	// Every page in turn, by its next link: 50, 50, 20 (the 115 routes of
	// "*" sort before pay.example's).
	query, sizes := "", []int{}
	for range 10 {
		body := page(query)
		sizes = append(sizes, rows(body))
		if query != "" && !strings.Contains(body, `href="/console/routes?" rel="first"`) {
			t.Errorf("routes?%s: no link to the first page", query)
		}
		if query = link(body, "next"); query == "" {
			if !strings.Contains(body, "pay.example") {
				t.Error("the last page does not end with pay.example")
			}
			break
		}
		if !strings.Contains(query, "cursor=") {
			t.Fatalf("next link %q has no cursor", query)
		}
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Errorf("page sizes %v, want [50 50 20]", sizes)
	}
	for _, tc := range []struct {
		query string
		rows  int
		next  bool
	}{
		{"function=flaky", 5, false},
		{"domain=PAY.example", 5, false},
		{"path=%2Fsvc%2F11", 5, false}, // /svc/110../svc/114
		{"domain=*&path=%2Fsvc%2F", 50, true},
	} {
		body := page(tc.query)
		if rows(body) != tc.rows || (link(body, "next") != "") != tc.next || !strings.Contains(body, "matching the filter") {
			t.Errorf("routes?%s: %d rows, next link %q; want %d rows, a next link %v", tc.query, rows(body), link(body, "next"), tc.rows, tc.next)
		}
	}
	// The next page of a filtered page keeps the filter.
	if next := link(page("domain=*&path=%2Fsvc%2F"), "next"); !strings.Contains(next, "path=%2Fsvc%2F") || rows(page(next)) != 50 {
		t.Errorf("next link of a filtered page %q", next)
	}
	// No match says so, and a filter is shown escaped.
	body := page("function=" + url.QueryEscape("<b>nothing"))
	if rows(body) != 0 || !strings.Contains(body, "No associations match the filter.") || strings.Contains(body, "<b>nothing") {
		t.Errorf("no-match page: %d rows, message found %v", rows(body), strings.Contains(body, "No associations match"))
	}
}

// TestInvocationLinksKeepTheFilter: on a filtered invocations page, the
// link to older invocations and the bulk-replay link carry the filter.
func TestInvocationLinksKeepTheFilter(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	hello := map[string]bool{}
	for i := range 63 {
		inv := &record.Invocation{Summary: record.Summary{ID: record.NewInvocationID(), Function: "flaky", Mode: route.ModeAsync}}
		if i%10 == 0 { // 7 of them, interleaved
			inv.Function = "hello"
			hello[inv.ID] = true
		}
		if err := s.Invocations.CreateNew(ctx, inv, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, s.console)
	c.signIn()
	rowRE := regexp.MustCompile(`<tr data-invocation="([0-9a-f]+)"`)
	rows := func(body string) (n int, other bool) {
		for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
			n++
			other = other || hello[m[1]]
		}
		return n, other
	}
	status, _, body := c.do("GET", "/console/invocations?function=flaky", nil, nil)
	if n, other := rows(body); status != http.StatusOK || n != 50 || other {
		t.Fatalf("first filtered page: %d, %d rows (want 50), other functions' rows %v", status, n, other)
	}
	if !strings.Contains(body, `href="/console/invocations/replay?function=flaky"`) {
		t.Errorf("replay link does not carry the filter: %s", regexp.MustCompile(`href="/console/invocations/replay[^"]*"`).FindString(body))
	}
	m := regexp.MustCompile(`href="/console/invocations\?([^"]*)" rel="next"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no link to older invocations with 56 matching and 50 a page")
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	q, err := url.ParseQuery(next)
	if err != nil || q.Get("function") != "flaky" || q.Get("cursor") == "" {
		t.Fatalf("older-invocations link %q: function %q, cursor %q", m[1], q.Get("function"), q.Get("cursor"))
	}
	_, _, body = c.do("GET", "/console/invocations?"+next, nil, nil)
	if n, other := rows(body); n != 6 || other {
		t.Errorf("second filtered page: %d rows (want the other 6), other functions' rows %v", n, other)
	}
}

// TestOpenAPILinked: every console page links the admin API's OpenAPI
// document, and the link works in a browser that is signed in to the
// console but holds no bearer token.
func TestOpenAPILinked(t *testing.T) {
	s := newStack(t)
	c := newClient(t, s.console)
	c.signIn()
	status, _, page := c.do("GET", "/console/routes", nil, nil)
	m := regexp.MustCompile(`<a href="([^"]*openapi[^"]*)"`).FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		t.Fatalf("routes page: %d, OpenAPI link found: %v", status, m != nil)
	}
	status, h, doc := c.do("GET", m[1], nil, nil)
	if status != http.StatusOK || h.Get("Content-Type") != "application/json" || doc != string(gateway.OpenAPI()) {
		t.Fatalf("GET %s: %d %s, the document served: %v", m[1], status, h.Get("Content-Type"), doc == string(gateway.OpenAPI()))
	}
}
