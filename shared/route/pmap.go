package route

import (
	"hash/maphash"
	"maps"
	"slices"
)

// pmap is a persistent map from strings: an edit copies the shards it
// touches (about pmapShard entries each) and the slice of shard pointers,
// and shares every other shard with the map it started from. A change to
// a table of 100,000 routes so costs what the change is, not what the
// table is, and a published pmap is never written again, so readers need
// no lock.
type pmap[V any] struct {
	shards []map[string]V // a power of two of them
	n      int
}

// pmapShard is the mean shard size a map grows to before it doubles its
// shards: small enough that copying one is cheap, large enough that the
// shard slice (copied by every edit) stays short.
const pmapShard = 64

var pmapSeed = maphash.MakeSeed()

func (m *pmap[V]) shard(k string) int {
	if len(m.shards) == 1 {
		return 0
	}
	return int(maphash.String(pmapSeed, k) & uint64(len(m.shards)-1))
}

func (m *pmap[V]) get(k string) (V, bool) {
	if m == nil || len(m.shards) == 0 {
		var zero V
		return zero, false
	}
	v, ok := m.shards[m.shard(k)][k]
	return v, ok
}

func (m *pmap[V]) len() int {
	if m == nil {
		return 0
	}
	return m.n
}

// each calls fn for every entry, in no order.
func (m *pmap[V]) each(fn func(k string, v V)) {
	if m == nil {
		return
	}
	for _, s := range m.shards {
		for k, v := range s {
			fn(k, v)
		}
	}
}

// pmapEdit is a batch of changes to a pmap; done returns the new map and
// leaves the one it started from as it was.
type pmapEdit[V any] struct {
	m     pmap[V]
	owned []bool // shards copied by this edit
}

func (m *pmap[V]) edit() *pmapEdit[V] {
	e := &pmapEdit[V]{}
	if m != nil && len(m.shards) > 0 {
		e.m = pmap[V]{shards: slices.Clone(m.shards), n: m.n}
	} else {
		e.m.shards = make([]map[string]V, 1)
	}
	e.owned = make([]bool, len(e.m.shards))
	return e
}

func (e *pmapEdit[V]) get(k string) (V, bool) { return e.m.get(k) }

func (e *pmapEdit[V]) own(i int) map[string]V {
	if !e.owned[i] {
		if s := e.m.shards[i]; s != nil {
			e.m.shards[i] = maps.Clone(s)
		} else {
			e.m.shards[i] = make(map[string]V)
		}
		e.owned[i] = true
	}
	return e.m.shards[i]
}

func (e *pmapEdit[V]) set(k string, v V) {
	s := e.own(e.m.shard(k))
	if _, ok := s[k]; !ok {
		e.m.n++
	}
	s[k] = v
	if e.m.n > 2*pmapShard*len(e.m.shards) {
		e.grow()
	}
}

func (e *pmapEdit[V]) del(k string) {
	i := e.m.shard(k)
	if _, ok := e.m.shards[i][k]; !ok {
		return
	}
	delete(e.own(i), k)
	e.m.n--
}

// grow doubles the shards until they hold pmapShard entries each on
// average: a rebuild whose cost is spread over the entries that made it
// necessary.
func (e *pmapEdit[V]) grow() {
	n := len(e.m.shards)
	for e.m.n > pmapShard*n {
		n *= 2
	}
	g := pmap[V]{shards: make([]map[string]V, n), n: e.m.n}
	for i := range g.shards {
		g.shards[i] = make(map[string]V, pmapShard)
	}
	e.m.each(func(k string, v V) { g.shards[g.shard(k)][k] = v })
	e.m = g
	e.owned = make([]bool, n)
	for i := range e.owned {
		e.owned[i] = true
	}
}

func (e *pmapEdit[V]) done() *pmap[V] {
	m := e.m
	return &m
}
