package console_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

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
