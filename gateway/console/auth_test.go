package console

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := newSessions("tok", time.Hour)
	s.now = func() time.Time { return now }
	rec := httptest.NewRecorder()
	issued := s.issue(rec)
	req := httptest.NewRequest("GET", "/console/routes", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	got, ok := s.check(req)
	if !ok || got != issued || got.csrf == "" {
		t.Fatalf("fresh session: %v %+v, issued %+v", ok, got, issued)
	}
	// Another replica with the same token accepts it; another token does not.
	same := newSessions("tok", time.Hour)
	same.now = s.now
	if _, ok := same.check(req); !ok {
		t.Fatal("a replica with the same token refused the session")
	}
	other := newSessions("rotated", time.Hour)
	other.now = s.now
	if _, ok := other.check(req); ok {
		t.Fatal("a rotated token still accepts the old session")
	}
	now = now.Add(time.Hour)
	if _, ok := s.check(req); ok {
		t.Fatal("an expired session was accepted")
	}
}

func TestSafeNext(t *testing.T) {
	if got := safeNext("/console/invocations?status=dead"); got != "/console/invocations?status=dead" {
		t.Errorf("safeNext of a console page = %q", got)
	}
	// Anything else, another site included, leads to the routes page.
	for _, in := range []string{"", "//evil.example/console/", "https://evil.example/console/", `/console/\evil`, "/admin/routes"} {
		if got := safeNext(in); got != "/console/routes" {
			t.Errorf("safeNext(%q) = %q, want /console/routes", in, got)
		}
	}
}
