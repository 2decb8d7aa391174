package console_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/worker"
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
	s.Worker(worker.Config{}, map[string]worker.Handler{
		"hello": worker.HandlerFunc(func(_ context.Context, ev *event.Event) (any, error) {
			return "hello from " + ev.Path, nil
		}),
		"flaky": worker.HandlerFunc(func(context.Context, *event.Event) (any, error) {
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
