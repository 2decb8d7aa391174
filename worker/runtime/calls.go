package runtime

import "sync"

// callTable matches the result frames a process writes to the calls waiting
// for them, by frame id.
type callTable struct {
	mu   sync.Mutex
	m    map[uint32]chan frame
	last uint32 // id of the latest call; 0 is never used
}

// chanPool holds the channels calls wait on; a call's result comes on its
// channel at most once.
var chanPool = sync.Pool{New: func() any { return make(chan frame, 1) }}

func newCallTable() *callTable { return &callTable{m: make(map[uint32]chan frame)} }

// add registers ch for a new call and returns the call's id.
func (t *callTable) add(ch chan frame) uint32 {
	t.mu.Lock()
	t.last++
	if t.last == 0 {
		t.last++
	}
	id := t.last
	t.m[id] = ch
	t.mu.Unlock()
	return id
}

// take removes call id and returns its channel (nil when nobody waits).
func (t *callTable) take(id uint32) chan frame {
	t.mu.Lock()
	ch := t.m[id]
	delete(t.m, id)
	t.mu.Unlock()
	return ch
}

// put registers ch under id, a call's (the streams of a process are
// kept by the id of the call that started them).
func (t *callTable) put(id uint32, ch chan frame) {
	t.mu.Lock()
	t.m[id] = ch
	t.mu.Unlock()
}

// get returns the channel of id (nil when none), leaving it registered.
func (t *callTable) get(id uint32) chan frame {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// forget drops call id and reports whether it was still waiting for its
// result.
func (t *callTable) forget(id uint32) bool {
	return t.take(id) != nil
}

// pending returns how many calls wait for their result.
func (t *callTable) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
