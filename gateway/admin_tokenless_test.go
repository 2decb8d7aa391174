package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
)

// tokenless is a gateway whose admin listener has no token (loopback only),
// with helpers that count the routes in Redis.
func tokenless(t *testing.T) (*gt.Stack, *gt.Gateway, func() int) {
	t.Helper()
	s := gt.New(t, r("*", "/kept", "echo"))
	gw := s.Gateway(gateway.Config{})
	count := func() int {
		t.Helper()
		rs, _, err := s.Routes.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}
	return s, gw, count
}

// adminHostPort is the admin listener's "127.0.0.1:port" without the scheme.
func adminHostPort(gw *gt.Gateway) string { return strings.TrimPrefix(gw.AdminURL, "http://") }

var jsonType = http.Header{"Content-Type": {"application/json"}}

const newRoute = `{"domain":"*","path":"/made","function":"echo"}`

// TestTokenlessAdminHost: a tokenless admin listener answers only requests
// addressed to a loopback name or address. A page that reached it by DNS
// rebinding sends its own name as Host and is refused everywhere on the
// listener (API, console, probes and metrics), changing nothing.
func TestTokenlessAdminHost(t *testing.T) {
	t.Parallel()
	_, gw, count := tokenless(t)
	port := adminHostPort(gw)[strings.LastIndexByte(adminHostPort(gw), ':')+1:]

	for _, host := range []string{"evil.example", "evil.example:" + port, "app.localhost:" + port, "0.0.0.0:" + port, "10.0.0.1:" + port} {
		assertError(t, gt.Do(t, "POST", gw.AdminURL+"/admin/routes", host, jsonType, []byte(newRoute)), 403, "ADMIN_HOST_REFUSED")
		for _, path := range []string{"/admin/routes", "/console/routes", "/metrics", "/healthz", "/readyz"} {
			assertError(t, gt.Do(t, "GET", gw.AdminURL+path, host, nil, nil), 403, "ADMIN_HOST_REFUSED")
		}
	}
	if n := count(); n != 1 {
		t.Fatalf("%d routes after refused creates, want 1", n)
	}
	for _, host := range []string{"localhost:" + port, "LOCALHOST", "127.0.0.1:" + port, "127.0.0.1", "127.9.9.9:" + port, "[::1]:" + port, "[::1]"} {
		if resp := gt.Do(t, "GET", gw.AdminURL+"/admin/routes", host, nil, nil); resp.Status != 200 {
			t.Errorf("Host %q: %d %s", host, resp.Status, resp.Body)
		}
	}
	if resp := gt.Do(t, "GET", gw.AdminURL+"/healthz", "localhost:"+port, nil, nil); resp.Status != 200 {
		t.Fatalf("probe with a loopback Host: %d", resp.Status)
	}
	if resp := gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "localhost:"+port, jsonType, []byte(newRoute)); resp.Status != 201 {
		t.Fatalf("create with Host localhost: %d %s", resp.Status, resp.Body)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d routes after a create, want 2", n)
	}
}

// TestTokenlessAdminBrowserChanges: on a tokenless admin listener, a change
// a web page could send (a form's content type, a fetch marked cross-site
// or from another origin) is refused and changes nothing; JSON from the
// listener's own origin, or from a client that is no browser, works.
func TestTokenlessAdminBrowserChanges(t *testing.T) {
	t.Parallel()
	_, gw, count := tokenless(t)
	own := "http://" + adminHostPort(gw)

	for ct, code := range map[string]int{
		"application/x-www-form-urlencoded": 415,
		"multipart/form-data; boundary=x":   415,
		"text/plain":                        415,
		"application/json-seq":              415,
		"":                                  415, // a body without a type
	} {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		assertError(t, gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "", h, []byte(newRoute)), code, "ADMIN_CONTENT_TYPE_REFUSED")
	}
	for name, h := range map[string]http.Header{
		"Sec-Fetch-Site cross-site": {"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"cross-site"}},
		"Sec-Fetch-Site same-site":  {"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"same-site"}},
		"Origin evil.example":       {"Content-Type": {"application/json"}, "Origin": {"http://evil.example"}},
		"Origin null":               {"Content-Type": {"application/json"}, "Origin": {"null"}},
		"Origin of another port":    {"Content-Type": {"application/json"}, "Origin": {"http://127.0.0.1:1"}},
	} {
		resp := gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "", h, []byte(newRoute))
		if resp.Status != 403 {
			t.Errorf("%s: %d %s", name, resp.Status, resp.Body)
		}
		assertError(t, resp, 403, "ADMIN_CROSS_SITE_REFUSED")
	}
	if n := count(); n != 1 {
		t.Fatalf("%d routes after refused creates, want 1", n)
	}

	// The listener's own origin, as the browser marks it; then a client
	// that sends no browser headers (curl, the CLI) with JSON.
	resp := gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "", http.Header{
		"Content-Type": {"application/json; charset=utf-8"}, "Origin": {own}, "Sec-Fetch-Site": {"same-origin"},
	}, []byte(newRoute))
	if resp.Status != 201 {
		t.Fatalf("same-origin JSON create: %d %s", resp.Status, resp.Body)
	}
	var made struct{ ID string }
	resp.JSON(t, &made)
	if resp := gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "", jsonType, []byte(`{"domain":"*","path":"/curl","function":"echo"}`)); resp.Status != 201 {
		t.Fatalf("JSON create without browser headers: %d %s", resp.Status, resp.Body)
	}

	// A delete has no body: it needs no Content-Type, but not from another site.
	assertError(t, gt.Do(t, "DELETE", gw.AdminURL+"/admin/routes/"+made.ID, "", http.Header{"Sec-Fetch-Site": {"cross-site"}}, nil), 403, "ADMIN_CROSS_SITE_REFUSED")
	assertError(t, gt.Do(t, "DELETE", gw.AdminURL+"/admin/routes/"+made.ID, "", http.Header{"Content-Type": {"text/plain"}}, nil), 415, "ADMIN_CONTENT_TYPE_REFUSED")
	if n := count(); n != 3 {
		t.Fatalf("%d routes after refused deletes, want 3", n)
	}
	if resp := gt.Do(t, "DELETE", gw.AdminURL+"/admin/routes/"+made.ID, "", nil, nil); resp.Status != 204 {
		t.Fatalf("delete without a body: %d %s", resp.Status, resp.Body)
	}
}

// TestAdminTokenModeUnchanged: with a token, the bearer check guards the
// listener and the tokenless refusals do not apply (a browser cannot add
// the Authorization header to a form or a rebinding page's fetch).
func TestAdminTokenModeUnchanged(t *testing.T) {
	t.Parallel()
	s := gt.New(t)
	const token = "a-token-of-16+chars"
	gw := s.Gateway(gateway.Config{AdminToken: token})
	h := http.Header{"Authorization": {"Bearer " + token}}
	if resp := gt.Do(t, "GET", gw.AdminURL+"/admin/routes", "gateway.internal:8081", h, nil); resp.Status != 200 {
		t.Fatalf("token mode, another Host: %d %s", resp.Status, resp.Body)
	}
	h.Set("Content-Type", "text/plain")
	if resp := gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "", h, []byte(newRoute)); resp.Status != 201 {
		t.Fatalf("token mode, text/plain create: %d %s", resp.Status, resp.Body)
	}
}

func TestShortAdminTokenRefused(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{"tok", "s3cret-token", "fifteen-chars!!"} {
		err := gateway.Config{AdminAddr: "127.0.0.1:8081", AdminToken: tok}.WithDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), "FNGATE_ADMIN_TOKEN") || !strings.Contains(err.Error(), "16") || strings.Contains(err.Error(), tok) {
			t.Errorf("token of %d characters: %v", len(tok), err)
		}
	}
	if err := (gateway.Config{AdminAddr: "0.0.0.0:8081", AdminToken: "sixteen-chars-ok"}).WithDefaults().Validate(); err != nil {
		t.Fatalf("16 characters: %v", err)
	}
}
