package envflag

import (
	"slices"
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
