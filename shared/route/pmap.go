package route

import (
	"hash/maphash"
	"slices"
)

// pmap is a persistent map from non-empty strings: an edit copies the
// shards it touches (about pmapShard entries each) and the slice of shard
// pointers, and shares every other shard with the map it started from. A
// change to a table of 100,000 routes so costs what the change is, not
// what the table is, and a published pmap is never written again, so
// readers need no lock.
//
// A shard is an open-addressed array of entries that keep their hash:
// a lookup hashes its key once (the hash picks the shard and the slot),
// and reads one slot, usually, and the key's bytes; a Go map per shard
// would hash the key a second time and add a header and a group to the
// cache lines a match misses.
type pmap[V any] struct {
	shards []pshard[V] // a power of two of them
	n      int
}

// pshard is a power of two of slots, at most half full (k "" is a free
// slot); nil when empty. The shards slice holds it by value: one pointer
// fewer for a lookup to follow.
type pshard[V any] []pentry[V]

type pentry[V any] struct {
	h uint64
	k string
	v V
}

// pmapShard is the mean shard size a map grows to before it doubles its
// shards: small enough that copying one is cheap, large enough that the
// shard slice (copied by every edit) stays short.
const pmapShard = 64

var pmapSeed = maphash.MakeSeed()

func pmapHash(k string) uint64 { return maphash.String(pmapSeed, k) }

func (m *pmap[V]) get(k string) (V, bool) {
	var zero V
	if m == nil || m.n == 0 {
		return zero, false
	}
	h := pmapHash(k)
	s := m.shards[h&uint64(len(m.shards)-1)]
	if len(s) == 0 {
		return zero, false
	}
	mask := uint64(len(s) - 1)
	for i := (h >> 32) & mask; ; i = (i + 1) & mask {
		e := &s[i]
		if e.k == "" {
			return zero, false
		}
		if e.h == h && e.k == k {
			return e.v, true
		}
	}
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
		s.each(func(e *pentry[V]) { fn(e.k, e.v) })
	}
}

func (s pshard[V]) each(fn func(e *pentry[V])) {
	for i := range s {
		if e := &s[i]; e.k != "" {
			fn(e)
		}
	}
}

// pmapEdit is a batch of changes to a pmap; done returns the new map and
// leaves the one it started from as it was. A shard it changes is copied
// once and then changed in place.
type pmapEdit[V any] struct {
	shards []pshard[V]
	n      int
	owned  []int32 // by shard: 0 when not copied by this edit, else 1 + its entries
}

func (m *pmap[V]) edit() *pmapEdit[V] {
	e := &pmapEdit[V]{}
	if m != nil && len(m.shards) > 0 {
		e.shards, e.n = slices.Clone(m.shards), m.n
	} else {
		e.shards = make([]pshard[V], 1)
	}
	e.owned = make([]int32, len(e.shards))
	return e
}

func (e *pmapEdit[V]) get(k string) (V, bool) {
	return (&pmap[V]{shards: e.shards, n: max(e.n, 1)}).get(k)
}

// own copies shard i for this edit, with room for one more entry.
func (e *pmapEdit[V]) own(i int) pshard[V] {
	if e.owned[i] == 0 {
		e.owned[i] = 1
		for j := range e.shards[i] {
			if e.shards[i][j].k != "" {
				e.owned[i]++
			}
		}
		e.shards[i] = slices.Clone(e.shards[i])
	}
	// owned[i] is the entries + 1: room for one more at most half full.
	if s := e.shards[i]; 2*int(e.owned[i]) > len(s) {
		g := make(pshard[V], max(4, 2*len(s)))
		s.each(func(p *pentry[V]) { g.insert(*p) })
		e.shards[i] = g
	}
	return e.shards[i]
}

// slot is where k is in s, or the free slot where it would go.
func (s pshard[V]) slot(h uint64, k string) uint64 {
	mask := uint64(len(s) - 1)
	for i := (h >> 32) & mask; ; i = (i + 1) & mask {
		if e := &s[i]; e.k == "" || e.h == h && e.k == k {
			return i
		}
	}
}

func (s pshard[V]) insert(p pentry[V]) { s[s.slot(p.h, p.k)] = p }

// set sets k to v and returns the value it replaced, if any.
func (e *pmapEdit[V]) set(k string, v V) (old V, replaced bool) {
	h := pmapHash(k)
	i := int(h & uint64(len(e.shards)-1))
	s := e.own(i)
	p := &s[s.slot(h, k)]
	if old, replaced = p.v, p.k != ""; !replaced {
		e.n++
		e.owned[i]++
	}
	*p = pentry[V]{h: h, k: k, v: v}
	if e.n > 2*pmapShard*len(e.shards) {
		e.grow()
	}
	return old, replaced
}

func (e *pmapEdit[V]) del(k string) {
	if _, ok := e.get(k); !ok {
		return
	}
	h := pmapHash(k)
	i := int(h & uint64(len(e.shards)-1))
	s := e.own(i)
	mask := uint64(len(s) - 1)
	j := s.slot(h, k)
	// Backward-shift deletion: the entries after j that probed past it
	// move back, so that lookups stop at free slots only.
	s[j] = pentry[V]{}
	for x := (j + 1) & mask; s[x].k != ""; x = (x + 1) & mask {
		if ideal := (s[x].h >> 32) & mask; (x-ideal)&mask >= (x-j)&mask {
			s[j], s[x] = s[x], pentry[V]{}
			j = x
		}
	}
	e.n--
	e.owned[i]--
}

// grow doubles the shards until they hold pmapShard entries each on
// average: a rebuild whose cost is spread over the entries that made it
// necessary.
func (e *pmapEdit[V]) grow() {
	n := len(e.shards)
	for e.n > pmapShard*n {
		n *= 2
	}
	g := &pmapEdit[V]{shards: make([]pshard[V], n), n: e.n, owned: make([]int32, n)}
	for _, s := range e.shards {
		s.each(func(p *pentry[V]) {
			i := int(p.h & uint64(n-1))
			g.own(i).insert(*p)
			g.owned[i]++
		})
	}
	*e = *g
}

// done returns the new map.
func (e *pmapEdit[V]) done() *pmap[V] {
	for i, n := range e.owned {
		if n == 1 { // copied, and emptied
			e.shards[i] = nil
		}
	}
	return &pmap[V]{shards: e.shards, n: e.n}
}
