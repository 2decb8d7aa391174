package console_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/gateway/gatewaytest"
)

// TestSignInThrottled: past a burst of attempts, sign-in from one address
// answers 429 with Retry-After before it looks at the token (the right
// one included); another address still signs in.
func TestSignInThrottled(t *testing.T) {
	s := newStack(t)
	c := newClient(t, s.console)
	var status int
	var h http.Header
	for i := 0; i < 100; i++ { // bounded: the burst is far smaller
		status, h, _ = c.do("POST", "/console/login", url.Values{"token": {"wrong-guess-" + strconv.Itoa(i)}}, nil)
		if status != http.StatusUnauthorized {
			t.Logf("throttled after %d wrong tokens", i)
			break
		}
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("100 wrong tokens: last answer %d, want 429", status)
	}
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
	status, h, _ = c.do("POST", "/console/login", url.Values{"token": {token}}, nil)
	if status != http.StatusTooManyRequests || h.Get("Set-Cookie") != "" {
		t.Fatalf("right token while throttled: %d, cookie %q", status, h.Get("Set-Cookie"))
	}

	// Another client address (Linux routes all of 127/8 to loopback).
	other := newClient(t, s.console)
	other.http.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}
	t.Cleanup(other.http.CloseIdleConnections)
	other.signIn()
}

// TestNoTokenConsoleOverHTTP: with no admin token, the console needs no
// sign-in but its forms still need the session's CSRF token and the
// listener's own origin, and a page that reached the listener by DNS
// rebinding (a foreign Host) gets nothing at all.
func TestNoTokenConsoleOverHTTP(t *testing.T) {
	s := &stack{Stack: gatewaytest.New(t)}
	s.gw = s.Gateway(gateway.Config{})
	s.console = strings.Replace(s.gw.AdminURL, "127.0.0.1", "localhost", 1)
	port := s.console[strings.LastIndexByte(s.console, ':')+1:]
	form := url.Values{"resourceType": {"function"}, "function": {"hello"}, "domainKind": {"default"}, "path": {"/no-token"}}

	for _, path := range []string{"/console/routes", "/console/routes/new", "/console/login"} {
		if r := gatewaytest.Do(t, "GET", s.gw.AdminURL+path, "evil.example:"+port, nil, nil); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "ADMIN_HOST_REFUSED") {
			t.Fatalf("GET %s with a foreign Host: %d %s", path, r.Status, r.Body)
		}
	}
	if r := gatewaytest.Do(t, "POST", s.gw.AdminURL+"/console/routes", "evil.example:"+port,
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(form.Encode())); r.Status != http.StatusForbidden {
		t.Fatalf("form post with a foreign Host: %d", r.Status)
	}

	c := newClient(t, s.console)
	status, _, page := c.do("GET", "/console/routes/new", nil, nil)
	m := csrfRE.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		t.Fatalf("new-route form without a token: %d, CSRF token found: %v", status, m != nil)
	}
	good := url.Values{"_csrf": {m[1]}}
	for k, v := range form {
		good[k] = v
	}
	for name, hdr := range map[string]map[string]string{
		"cross-site":            {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
		"same-site":             {"Sec-Fetch-Site": "same-site"},
		"another origin":        {"Origin": "http://evil.example"},
		"another loopback port": {"Origin": "http://localhost:1"},
	} {
		if status, _, _ := c.do("POST", "/console/routes", good, hdr); status != http.StatusForbidden {
			t.Fatalf("%s post with the CSRF token: %d, want 403", name, status)
		}
	}
	if status, _, _ := c.do("POST", "/console/routes", form, map[string]string{"Origin": s.console}); status != http.StatusForbidden {
		t.Fatalf("same-origin post without the CSRF token: %d, want 403", status)
	}
	if status, _, _ := newClient(t, s.console).do("POST", "/console/routes", good, map[string]string{"Origin": s.console}); status != http.StatusUnauthorized {
		t.Fatalf("post with another session's CSRF token and no cookie: %d, want 401", status)
	}
	if n := s.routeCount(t); n != 0 {
		t.Fatalf("refused posts created %d routes", n)
	}
	// Done right, the console's form post (not JSON) creates the route: the
	// admin API's JSON-only rule is for callers from outside, and the
	// console calls it in process.
	if status, h, _ := c.do("POST", "/console/routes", good, map[string]string{"Origin": s.console, "Sec-Fetch-Site": "same-origin"}); status != http.StatusSeeOther || h.Get("Location") != "/console/routes?done=created" {
		t.Fatalf("good post: %d to %q", status, h.Get("Location"))
	}
	rs, _, err := s.Routes.Snapshot(context.Background())
	if err != nil || len(rs) != 1 || rs[0].Path != "/no-token" {
		t.Fatalf("routes after the good post: %+v %v", rs, err)
	}
}

// TestBrowserAttacksOnTokenlessAdmin: what a web page in the operator's
// browser can try against a tokenless admin listener, in a real Chromium.
// A page on another origin posts JSON as text/plain with a no-cors fetch,
// then auto-submits a text/plain form that smuggles JSON; a page that reached the listener by DNS rebinding
// (evil.example resolved to 127.0.0.1) reads the console and posts JSON to
// the API from what the browser thinks is its own origin. All refused,
// nothing created.
func TestBrowserAttacksOnTokenlessAdmin(t *testing.T) {
	s := &stack{Stack: gatewaytest.New(t)}
	s.gw = s.Gateway(gateway.Config{})
	s.console = strings.Replace(s.gw.AdminURL, "127.0.0.1", "localhost", 1)
	port := s.console[strings.LastIndexByte(s.console, ':')+1:]

	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="POST" action="%[1]s/admin/routes" enctype="text/plain">`+
			`<input type="hidden" name='{"domain":"*","path":"/csrf","function":"echo","x":"' value='"}'></form>`+
			`<script>fetch("%[1]s/admin/routes", {method: "POST", mode: "no-cors", body: '{"domain":"*","path":"/no-cors","function":"echo"}'})`+
			`.finally(() => document.forms[0].submit())</script>`, s.console)
	}))
	t.Cleanup(attacker.Close)
	ctx := browser(t, 1280, 800, chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1"))

	run(t, ctx, "cross-site form", chromedp.Navigate(attacker.URL), chromedp.WaitVisible(chromedp.CSS("body")))
	body := func() string {
		return get(t, ctx, "page text", chromedp.Evaluate[string](`document.location.href + " " + document.body.innerText`))
	}
	var page string
	eventually(t, 10*time.Second, func() error { // the fetch has settled when the form is submitted
		if page = body(); !strings.HasPrefix(page, s.console+"/admin/routes ") {
			return fmt.Errorf("the cross-site form was not submitted: %s", page)
		}
		return nil
	})
	if n := s.routeCount(t); n != 0 {
		t.Errorf("the cross-site page created %d routes", n)
	}
	if !strings.Contains(page, "ADMIN_CROSS_SITE_REFUSED") {
		t.Errorf("answer to the cross-site form: %s", page)
	}

	rebound := "http://evil.example:" + port
	run(t, ctx, "rebound console", chromedp.Navigate(rebound+"/console/routes"), chromedp.WaitVisible(chromedp.CSS("body")))
	if page = body(); !strings.Contains(page, "ADMIN_HOST_REFUSED") {
		t.Fatalf("console by a rebound name: %s", page)
	}
	status := get(t, ctx, "rebound fetch", chromedp.Evaluate[int](`fetch("/admin/routes", {method: "POST",
		headers: {"Content-Type": "application/json"},
		body: JSON.stringify({domain: "*", path: "/rebound", function: "echo"})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if status != http.StatusForbidden {
		t.Fatalf("JSON post from the rebound page: %d, want 403", status)
	}
	if n := s.routeCount(t); n != 0 {
		t.Fatalf("the attacks created %d routes", n)
	}
}
