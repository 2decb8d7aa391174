package route

import "encoding/binary"

// hostIndex is the table's domains laid out for Match alone. At 100,000
// routes the table is larger than the caches, and a match costs the
// cache lines it misses, one after the other: a slot of the domains map,
// the domain's name, its array of paths. Here a domain is one record in
// a string its shard shares with its neighbours (name, path lengths and
// paths together), found from a slot of 8 bytes: the slots of every
// domain fit in the caches, and a match reads one record, usually one or
// two cache lines, and one route pointer.
//
// It mirrors the domains pmap shard for shard (same hash, same shard
// count): an edit recompiles the shards it copied and shares the rest
// with the table it started from.
type hostIndex struct {
	shards []hostShard
}

// hostShard is one pmap shard's domains compiled. A record at offset o of
// text is: name length (1 byte), path count k (1 byte; manyPaths: the
// domain's routes are a pmap, read from the table), the index of its
// first route in routes (4 bytes), k path lengths (2 bytes each), the
// name, the paths longest first.
type hostShard struct {
	slots  []uint64 // a power of two, at most half full; 0 free, else tag<<32 | 1+o
	text   string
	routes []*Route
}

// manyPaths marks the record of a domain whose routes Match reads from
// the domains map (more than fewPaths of them).
const manyPaths = 0xff

// hostHeader is a record's size before its path lengths.
const hostHeader = 6

// index returns the index of domains (a table's, just edited by e) from
// old (the index of the table e started from): shards e did not copy are
// old's.
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
	n, size, nr := 0, 0, 0
	s.each(func(e *pentry[pathSet]) {
		n++
		size += hostHeader + len(e.k) + 3*len(e.v.few)
		nr += len(e.v.few)
		for _, f := range e.v.few {
			size += len(f.path)
		}
	})
	var c hostShard
	if n == 0 {
		return c
	}
	slots := 4
	for slots < 2*n {
		slots *= 2
	}
	c.slots = make([]uint64, slots)
	c.routes = make([]*Route, 0, nr)
	text := make([]byte, 0, size)
	mask := uint32(slots - 1)
	s.each(func(e *pentry[pathSet]) {
		o := len(text)
		k := len(e.v.few)
		if e.v.many != nil || len(e.k) > 0xff {
			k = manyPaths
		}
		text = append(text, byte(len(e.k)), byte(k))
		text = binary.LittleEndian.AppendUint32(text, uint32(len(c.routes)))
		if k != manyPaths {
			for _, f := range e.v.few {
				text = binary.LittleEndian.AppendUint16(text, uint16(len(f.path)))
				c.routes = append(c.routes, f.r)
			}
		}
		text = append(text, e.k...)
		if k != manyPaths {
			for _, f := range e.v.few {
				text = append(text, f.path...)
			}
		}
		tag := uint32(e.h >> 32)
		i := tag & mask
		for c.slots[i] != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = uint64(tag)<<32 | uint64(o+1)
	})
	c.text = string(text)
	return c
}

// hostMatch is what the index knows of a host.
type hostMatch uint8

const (
	hostNone   hostMatch = iota // no route on this host
	hostRoute                   // the route returned
	hostNoPath                  // routes on this host, none for the path
	hostMany                    // routes on this host in the domains map
)

// match finds the route of host (hashed h) for path p.
func (x *hostIndex) match(h uint64, host, p string) (*Route, hostMatch) {
	if len(x.shards) == 0 {
		return nil, hostNone
	}
	s := &x.shards[h&uint64(len(x.shards)-1)]
	if len(s.slots) == 0 {
		return nil, hostNone
	}
	tag := uint32(h >> 32)
	mask := uint32(len(s.slots) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		v := s.slots[i]
		if v == 0 {
			return nil, hostNone
		}
		if uint32(v>>32) != tag {
			continue
		}
		rec := s.text[uint32(v)-1:]
		nl, k := int(rec[0]), int(rec[1])
		if k == manyPaths {
			if rec[hostHeader:hostHeader+nl] == host {
				return nil, hostMany
			}
			continue
		}
		name := hostHeader + 2*k
		if rec[name:name+nl] != host {
			continue
		}
		base := int(rec[2]) | int(rec[3])<<8 | int(rec[4])<<16 | int(rec[5])<<24
		paths := rec[name+nl:]
		for j := range k {
			n := int(rec[hostHeader+2*j]) | int(rec[hostHeader+2*j+1])<<8
			fp := paths[:n]
			paths = paths[n:]
			if segPrefix(fp, p) {
				return s.routes[base+j], hostRoute
			}
		}
		return nil, hostNoPath
	}
}
