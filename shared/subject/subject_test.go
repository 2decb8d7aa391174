package subject

import (
	"strings"
	"testing"
)

func TestValidFunction(t *testing.T) {
	t.Parallel()
	good := []string{"a", "hello-world", "fn_1", "0abc", strings.Repeat("a", 64)}
	bad := []string{"", "-a", "_a", "A", "a.b", "a*", "a>", "a b", "héllo", strings.Repeat("a", 65), "a/b"}
	for _, n := range good {
		if !ValidFunction(n) {
			t.Errorf("ValidFunction(%q) = false, want true", n)
		}
	}
	for _, n := range bad {
		if ValidFunction(n) {
			t.Errorf("ValidFunction(%q) = true, want false", n)
		}
		if _, err := Invoke(n); err == nil {
			t.Errorf("Invoke(%q) succeeded, want error", n)
		}
	}
}

func FuzzInvoke(f *testing.F) {
	for _, s := range []string{"echo", "a.b", "*", ">", "a b", "", "fngate.invoke.x", "x\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		subj, err := Invoke(name)
		if err != nil {
			return
		}
		checkSubject(t, subj, 3)
		for _, build := range []func(string) (string, error){Async, Dead} {
			s, err := build(name)
			if err != nil {
				t.Fatalf("%q valid for Invoke, not for async names: %v", name, err)
			}
			checkSubject(t, s, 3)
		}
		const id = "0123456789abcdef0123456789abcdef"
		inv, _ := AsyncInvocation(name, id)
		delay, fired, _ := Delay(name, id)
		async, _ := Async(name)
		for _, s := range []string{inv, delay, fired, async} {
			if got := FunctionOf(s); got != name {
				t.Fatalf("FunctionOf(%q) = %q, want %q", s, got, name)
			}
		}
		if c, err := Consumer(name); err != nil || strings.ContainsAny(c, " \t\r\n.*>") {
			t.Fatalf("consumer %q, %v", c, err)
		}
		q, err := QueueGroup(name)
		if err != nil {
			t.Fatalf("QueueGroup(%q) failed where Invoke succeeded: %v", name, err)
		}
		if strings.ContainsAny(q, " \t\r\n.*>") {
			t.Fatalf("queue group %q has a forbidden character", q)
		}
	})
}

// checkSubject fails unless subj is a literal subject of n non-empty tokens.
func checkSubject(t *testing.T, subj string, n int) {
	t.Helper()
	toks := strings.Split(subj, ".")
	if len(toks) != n {
		t.Fatalf("subject %q has %d tokens, want %d", subj, len(toks), n)
	}
	for _, tok := range toks {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n*>\x00") {
			t.Fatalf("subject %q has invalid token %q", subj, tok)
		}
	}
}

// Stream subjects take NUID-like ids only.
func TestStreamSubjects(t *testing.T) {
	t.Parallel()
	if d, err := StreamData("AbC123"); err != nil || d != "fngate.stream.AbC123.data" {
		t.Fatalf("StreamData = %q, %v", d, err)
	}
	if c, err := StreamCredit("AbC123"); err != nil || c != "fngate.stream.AbC123.credit" {
		t.Fatalf("StreamCredit = %q, %v", c, err)
	}
	for _, bad := range []string{"", "a.b", "*", ">", "a b", strings.Repeat("a", 65)} {
		if _, err := StreamData(bad); err == nil {
			t.Errorf("StreamData(%q) accepted", bad)
		}
		if _, err := StreamCredit(bad); err == nil {
			t.Errorf("StreamCredit(%q) accepted", bad)
		}
	}
}
