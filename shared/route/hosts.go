package route

import "unsafe"

// hostIndex is the table's domains laid out for Match alone. At 100,000
// routes the table is larger than the caches, and a match costs the cache
// lines it misses one after the other: in the domains map, a slot, then
// the domain's name it points to, then its array of paths and the route.
// Here the slot a host's hash points to holds all of that: its name, its
// paths (longest first) and their routes, in three adjacent cache lines
// read at once; a match so waits for memory about once.
//
// It mirrors the domains pmap shard for shard (same hash, same shard
// count): an edit compiles again the shards it copied and shares the rest
// with the table it started from.
type hostIndex struct {
	shards []hostShard
}

// hostShard is one pmap shard's domains: a power of two of slots, at
// most two thirds full (tag 0: a free slot); nil when empty.
type hostShard []hostSlot

// hostSlot is a domain. A domain with more than fewPaths routes, or whose
// name and paths do not fit in text, is only marked (k manyPaths): Match
// then reads it from the domains map.
type hostSlot struct {
	tag    uint32 // bits of the hash, never 0
	nl, k  uint8  // name length, number of paths
	lens   [fewPaths]uint16
	routes [fewPaths]*Route
	text   [hostText]byte // name, then paths
}

// hostText makes a slot three cache lines: room for a tenant's host and
// the paths of its few routes.
const hostText = 104

// manyPaths marks a domain that Match reads from the domains map.
const manyPaths = 0xff

func hostTag(h uint64) uint32 { return uint32(h>>32) | 1 }

// update returns the index of domains (a table's, just edited by e) from
// old (the index of the table e started from): the shards e did not copy
// are old's.
func (old hostIndex) update(domains *pmap[pathSet], e *pmapEdit[pathSet]) hostIndex {
	x := hostIndex{shards: make([]hostShard, len(domains.shards))}
	same := len(old.shards) == len(x.shards)
	for i := range x.shards {
		if same && e.owned[i] == 0 {
			x.shards[i] = old.shards[i]
		} else {
			x.shards[i] = compileHosts(domains.shards[i])
		}
	}
	return x
}

// compileHosts lays out the domains of shard s.
func compileHosts(s pshard[pathSet]) hostShard {
	n := 0
	s.each(func(*pentry[pathSet]) { n++ })
	if n == 0 {
		return nil
	}
	size := 4
	for 2*size < 3*n {
		size *= 2
	}
	c := make(hostShard, size)
	mask := uint64(size - 1)
	s.each(func(e *pentry[pathSet]) {
		i := (e.h >> 32) & mask
		for c[i].tag != 0 {
			i = (i + 1) & mask
		}
		c[i].fill(e.h, e.k, e.v)
	})
	return c
}

// fill makes x domain d (hashed h) with routes ps.
func (x *hostSlot) fill(h uint64, d string, ps pathSet) {
	x.tag, x.k = hostTag(h), manyPaths
	size := len(d)
	for _, r := range ps.few {
		size += len(r.Path)
	}
	if ps.many != nil || size > hostText {
		return
	}
	x.nl, x.k = uint8(len(d)), uint8(len(ps.few))
	o := copy(x.text[:], d)
	for j, r := range ps.few {
		x.lens[j], x.routes[j] = uint16(len(r.Path)), r
		o += copy(x.text[o:], r.Path)
	}
}

// hostMatch is what the index knows of a host.
type hostMatch uint8

const (
	hostNone  hostMatch = iota // no route on this host, or none for the path
	hostRoute                  // the route returned
	hostMany                   // read the host's routes from the domains map
)

// match finds the route of host (hashed h) for path p.
func (x *hostIndex) match(h uint64, host, p string) (*Route, hostMatch) {
	if len(x.shards) == 0 {
		return nil, hostNone
	}
	s := x.shards[h&uint64(len(x.shards)-1)]
	if len(s) == 0 {
		return nil, hostNone
	}
	tag, mask := hostTag(h), uint64(len(s)-1)
	for i := (h >> 32) & mask; ; i = (i + 1) & mask {
		e := &s[i]
		if e.tag == 0 {
			return nil, hostNone
		}
		if e.tag != tag {
			continue
		}
		if e.k == manyPaths {
			// Not compared: the map does, and answers for a host
			// that only shares the tag too.
			return nil, hostMany
		}
		if int(e.nl) != len(host) || unsafe.String(&e.text[0], len(host)) != host {
			continue
		}
		o := int(e.nl)
		for j := range int(e.k) {
			n := int(e.lens[j])
			if segPrefix(unsafe.String(&e.text[o], n), p) {
				return e.routes[j], hostRoute
			}
			o += n
		}
		return nil, hostNone
	}
}
