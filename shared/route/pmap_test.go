package route

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// TestPmap: random sets and deletes over many edits, across shard growth
// and deletes that shift probed entries back, agree with a Go map; every
// earlier version still holds what it held.
func TestPmap(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	var m *pmap[int]
	want := map[string]int{}
	type version struct {
		m    *pmap[int]
		want map[string]int
	}
	var versions []version
	for round := range 300 {
		e := m.edit()
		for range 1 + rng.IntN(40) {
			k := fmt.Sprint("k", rng.IntN(3000))
			if rng.IntN(3) == 0 {
				e.del(k)
				delete(want, k)
			} else {
				e.set(k, round)
				want[k] = round
			}
		}
		m = e.done()
		versions = append(versions, version{m, maps.Clone(want)})
	}
	for vi, v := range versions {
		if v.m.len() != len(v.want) {
			t.Fatalf("version %d: len %d, want %d", vi, v.m.len(), len(v.want))
		}
		for i := range 3000 {
			k := fmt.Sprint("k", i)
			got, ok := v.m.get(k)
			if w, wok := v.want[k]; ok != wok || got != w {
				t.Fatalf("version %d: get(%s) = %d, %v; want %d, %v", vi, k, got, ok, w, wok)
			}
		}
		n := 0
		v.m.each(func(string, int) { n++ })
		if n != len(v.want) {
			t.Fatalf("version %d: each saw %d entries, want %d", vi, n, len(v.want))
		}
	}
}
