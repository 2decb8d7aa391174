package route

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzPlainHost: plainHost is the byte by byte check (no ASCII capital,
// no colon, no bracket first, no dot last), and a plain host is one that
// normalising leaves as it is.
func FuzzPlainHost(f *testing.F) {
	for _, h := range []string{"", "a", "t00001.tenant.example", "Example.com", "example.com:8080", "[::1]", "example.com.",
		"abcdefgZ", "abcdefg@[", "\xc1\xdaabcdefghij", "host:", "ab:cdefghijklmno", "abcdefghijklmnoZ"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		want := h == "" || h[0] != '[' && h[len(h)-1] != '.' && !strings.ContainsAny(h, ":ABCDEFGHIJKLMNOPQRSTUVWXYZ")
		if got := plainHost(h); got != want {
			t.Fatalf("plainHost(%q) = %v, want %v", h, got, want)
		}
		var buf [hostBuf]byte
		if want && lowerHost(&buf, trimHost(h)) != h {
			t.Fatalf("plain host %q normalised to %q", h, lowerHost(&buf, trimHost(h)))
		}
	})
}

// TestHostIndexSame: across random edits of many domains (few routes and
// many, names and paths too long for a slot, shard growth and shrinking),
// every table matches as the plain lookup per segment over its routes,
// and so do the tables before each edit.
func TestHostIndexSame(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	const domains = 400
	name := func(d int) string {
		if d%17 == 0 { // no room for its paths in a slot
			return fmt.Sprintf("%sh%d.example", strings.Repeat("longlabel.", 11), d)
		}
		return fmt.Sprintf("h%d.example", d)
	}
	segs := []string{"a", "b", "api", "v1", strings.Repeat("x", 60)}
	randPath := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString("/" + segs[rng.IntN(len(segs))])
		}
		return b.String()
	}
	type state struct {
		tab *Table
		ref map[string]map[string]*Route // domain → path → route
	}
	check := func(s state, step int) {
		for range 200 {
			d := rng.IntN(domains + 20) // some hosts without routes
			host, p := name(d), randPath(rng.IntN(4))
			if p == "" {
				p = "/"
			}
			got, want := s.tab.Match(strings.ToUpper(host)+":443", p), refLongest(s.ref[host], p)
			if (got == nil) != (want == nil) || got != nil && got.ID != want.ID {
				t.Fatalf("step %d: Match(%s, %s) = %v, want %v", step, host, p, got, want)
			}
		}
	}
	cur := state{tab: NewTable(nil, nil), ref: map[string]map[string]*Route{}}
	var past []state
	for step := range 60 {
		b := cur.tab.Edit()
		ref := map[string]map[string]*Route{}
		for d, m := range cur.ref {
			ref[d] = map[string]*Route{}
			for p, r := range m {
				ref[d][p] = r
			}
		}
		for range 1 + rng.IntN(300) {
			d := rng.IntN(domains)
			if d%5 == 0 {
				d %= 10 // a few domains get many routes
			}
			r := mustRoutes(t, Route{Domain: name(d), Path: randPath(1 + rng.IntN(3)), Function: fmt.Sprint("f", step)})[0]
			if old := ref[r.Domain][r.Path]; old != nil && rng.IntN(3) == 0 {
				b.Delete(*old)
				delete(ref[r.Domain], r.Path)
				continue
			}
			b.Set(r)
			if ref[r.Domain] == nil {
				ref[r.Domain] = map[string]*Route{}
			}
			rc := r
			ref[r.Domain][r.Path] = &rc
		}
		past = append(past, cur)
		cur = state{tab: b.Table(), ref: ref}
		check(cur, step)
		check(past[rng.IntN(len(past))], step)
	}
}

// TestPlainHostRandom runs FuzzPlainHost's check over random headers made
// of the bytes that matter, at every length around the 8-byte words.
func TestPlainHostRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = "az09AZ@[:].-\xc1\xdb\x7f\xff"
	for range 200_000 {
		b := make([]byte, rng.IntN(25))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
			if rng.IntN(4) > 0 {
				b[i] = 'a' + byte(rng.IntN(26))
			}
		}
		h := string(b)
		want := h == "" || h[0] != '[' && h[len(h)-1] != '.' && !strings.ContainsAny(h, ":ABCDEFGHIJKLMNOPQRSTUVWXYZ")
		if got := plainHost(h); got != want {
			t.Fatalf("plainHost(%q) = %v, want %v", h, got, want)
		}
	}
}
