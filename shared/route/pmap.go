package route

import (
	"hash/maphash"
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
// leaves the one it started from as it was. The shards it changes are Go
// maps until done packs them.
type pmapEdit[V any] struct {
	shards []pshard[V]
	n      int
	dirty  map[int]map[string]V
}

func (m *pmap[V]) edit() *pmapEdit[V] {
	e := &pmapEdit[V]{dirty: map[int]map[string]V{}}
	if m != nil && len(m.shards) > 0 {
		e.shards, e.n = m.shards, m.n // copied by done, never written here
	} else {
		e.shards = make([]pshard[V], 1)
	}
	return e
}

func (e *pmapEdit[V]) shard(h uint64) int { return int(h & uint64(len(e.shards)-1)) }

func (e *pmapEdit[V]) get(k string) (V, bool) {
	if d, ok := e.dirty[e.shard(pmapHash(k))]; ok {
		v, ok := d[k]
		return v, ok
	}
	return (&pmap[V]{shards: e.shards, n: max(e.n, 1)}).get(k)
}

func (e *pmapEdit[V]) own(i int) map[string]V {
	d, ok := e.dirty[i]
	if !ok {
		d = make(map[string]V)
		e.shards[i].each(func(p *pentry[V]) { d[p.k] = p.v })
		e.dirty[i] = d
	}
	return d
}

func (e *pmapEdit[V]) set(k string, v V) {
	d := e.own(e.shard(pmapHash(k)))
	if _, ok := d[k]; !ok {
		e.n++
	}
	d[k] = v
	if e.n > 2*pmapShard*len(e.shards) {
		e.grow()
	}
}

func (e *pmapEdit[V]) del(k string) {
	i := e.shard(pmapHash(k))
	if _, ok := e.get(k); !ok {
		return
	}
	delete(e.own(i), k)
	e.n--
}

// grow doubles the shards until they hold pmapShard entries each on
// average: a rebuild whose cost is spread over the entries that made it
// necessary.
func (e *pmapEdit[V]) grow() {
	n := len(e.shards)
	for e.n > pmapShard*n {
		n *= 2
	}
	g := &pmapEdit[V]{shards: make([]pshard[V], n), n: e.n, dirty: make(map[int]map[string]V, n)}
	for i := range n {
		g.dirty[i] = make(map[string]V, pmapShard)
	}
	e.each(func(k string, v V) { g.dirty[g.shard(pmapHash(k))][k] = v })
	*e = *g
}

func (e *pmapEdit[V]) each(fn func(k string, v V)) {
	for i, s := range e.shards {
		if d, ok := e.dirty[i]; ok {
			for k, v := range d {
				fn(k, v)
			}
			continue
		}
		s.each(func(p *pentry[V]) { fn(p.k, p.v) })
	}
}

// done packs the changed shards and returns the new map.
func (e *pmapEdit[V]) done() *pmap[V] {
	shards := e.shards
	if len(e.dirty) > 0 {
		shards = make([]pshard[V], len(e.shards))
		copy(shards, e.shards)
	}
	for i, d := range e.dirty {
		shards[i] = packShard(d)
	}
	return &pmap[V]{shards: shards, n: e.n}
}

func packShard[V any](d map[string]V) pshard[V] {
	if len(d) == 0 {
		return nil
	}
	size := 4
	for size < 2*len(d) {
		size *= 2
	}
	s := make(pshard[V], size)
	mask := uint64(size - 1)
	for k, v := range d {
		h := pmapHash(k)
		i := (h >> 32) & mask
		for s[i].k != "" {
			i = (i + 1) & mask
		}
		s[i] = pentry[V]{h: h, k: k, v: v}
	}
	return s
}
