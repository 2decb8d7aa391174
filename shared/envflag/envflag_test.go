package envflag

import (
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	t.Setenv("FNGATE_T_ADDR", ":9000")
	t.Setenv("FNGATE_T_LIST", "a, b,,c")
	t.Setenv("FNGATE_T_WAIT", "2s")
	t.Setenv("FNGATE_T_N", "7")
	s := New("t")
	var addr, other string
	var list []string
	var wait time.Duration
	var n int
	s.String(&addr, "addr", "FNGATE_T_ADDR", ":8080", "")
	s.String(&other, "other", "FNGATE_T_OTHER", "def", "")
	s.List(&list, "list", "FNGATE_T_LIST", nil, "")
	s.Duration(&wait, "wait", "FNGATE_T_WAIT", time.Second, "")
	s.Int(&n, "n", "FNGATE_T_N", 1, "")
	if err := s.Parse([]string{"-addr", ":7000", "-n", "9"}); err != nil {
		t.Fatal(err)
	}
	if addr != ":7000" || other != "def" || !slices.Equal(list, []string{"a", "b", "c"}) || wait != 2*time.Second || n != 9 {
		t.Fatalf("got addr=%q other=%q list=%q wait=%s n=%d", addr, other, list, wait, n)
	}
}

func TestBadEnv(t *testing.T) {
	t.Setenv("FNGATE_T_WAIT", "soon")
	s := New("t")
	var wait time.Duration
	s.Duration(&wait, "wait", "FNGATE_T_WAIT", time.Second, "")
	if err := s.Parse(nil); err == nil {
		t.Fatal("Parse accepted FNGATE_T_WAIT=soon")
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"":                                        "",
		"redis://127.0.0.1:6379/0":                "redis://127.0.0.1:6379/0",
		"redis://:hunter2@redis:6379/0":           "redis://:xxxxx@redis:6379/0",
		"rediss://app:hunter2@redis:6379/0":       "rediss://app:xxxxx@redis:6379/0",
		"nats://s3cr3t-token@nats:4222":           "nats://xxxxx@nats:4222",
		"nats://a:p1@n1:4222,nats://b:p2@n2:4222": "nats://a:xxxxx@n1:4222,nats://b:xxxxx@n2:4222",
		"nats://n1:4222,nats://u:p@n2":            "nats://n1:4222,nats://u:xxxxx@n2",
		"redis://:pa/ss#w@redis/0":                "redis://:xxxxx@redis/0",
		"redis://:p@ss@redis/0":                   "redis://:xxxxx@redis/0",
		"a.b:4222, c:4222":                        "a.b:4222, c:4222",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUsageHidesSecrets: -h shows values from the environment as defaults,
// but never a Secret's value nor the credentials of a URL.
func TestUsageHidesSecrets(t *testing.T) {
	t.Setenv("FNGATE_T_TOKEN", "tok-hunter2")
	t.Setenv("FNGATE_T_URL", "redis://:pw-hunter2@redis:6379/0")
	t.Setenv("FNGATE_T_URLS", "nats://u:pw-hunter2@n1,nats://n2")
	s := New("t")
	var tok, empty, url string
	var urls []string
	s.Secret(&tok, "token", "FNGATE_T_TOKEN", "a token")
	s.Secret(&empty, "empty", "FNGATE_T_EMPTY", "unset")
	s.String(&url, "url", "FNGATE_T_URL", "", "a URL")
	s.List(&urls, "urls", "FNGATE_T_URLS", nil, "URLs")
	var out strings.Builder
	s.SetOutput(&out)
	if err := s.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(-h) = %v", err)
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Fatalf("usage shows a secret:\n%s", out.String())
	}
	for _, want := range []string{`(default "xxxxx")`, `redis://:xxxxx@redis:6379/0`, `nats://u:xxxxx@n1,nats://n2`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %s:\n%s", want, out.String())
		}
	}
	if tok != "tok-hunter2" || url != "redis://:pw-hunter2@redis:6379/0" || !slices.Equal(urls, []string{"nats://u:pw-hunter2@n1", "nats://n2"}) {
		t.Fatalf("values changed: %q %q %q", tok, url, urls)
	}
}
