package origin

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST:8081": true, "localhost:1": true,
		"127.0.0.1": true, "127.0.0.1:8081": true, "127.1.2.3:80": true,
		"[::1]": true, "[::1]:8081": true, "[::ffff:127.0.0.1]:8081": true,
		"": false, "evil.example": false, "evil.example:8081": false,
		"app.localhost": false, "localhost.": false, "localhost.evil.example": false,
		"0.0.0.0:8081": false, "10.0.0.1:8081": false, "[::]:8081": false,
		"[fe80::1%25lo]:8081": false, "2130706433": false, "127.0.0.1.nip.io": false,
	} {
		if got := LoopbackHost(host); got != want {
			t.Errorf("LoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestSame(t *testing.T) {
	for _, tc := range []struct {
		origin, site string
		want         bool
	}{
		// Nothing says another origin, or the request's own origin says so.
		{"", "", true}, {"", "none", true}, {"http://localhost:8081", "same-origin", true}, {"HTTP://LOCALHOST:8081", "", true},
		// Sec-Fetch-Site names another origin, even with the same Origin.
		{"http://localhost:8081", "same-site", false}, {"", "cross-site", false}, {"", "cross-origin", false},
		// Origin is another origin (host, port or scheme), opaque, or not an origin.
		{"http://evil.example", "", false}, {"http://localhost:8082", "", false}, {"http://localhost", "", false},
		{"null", "", false}, {"-", "", false}, {"http://localhost:8081/x", "", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://localhost:8081/admin/routes", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.site != "" {
			r.Header.Set("Sec-Fetch-Site", tc.site)
		}
		if got := Same(r); got != tc.want {
			t.Errorf("Origin %q, Sec-Fetch-Site %q: %v, want %v", tc.origin, tc.site, got, tc.want)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "http://localhost:8081/admin/routes", nil)
	r.Header["Origin"] = []string{"http://localhost:8081", "http://evil.example"}
	if Same(r) {
		t.Error("two Origin headers passed")
	}
}
