package runtime

import (
	"sync"
	"time"
)

// observer counts what a Runtime started in a test did, through its hooks.
type observer struct {
	mu     sync.Mutex
	pids   []int              // every process (group) started
	spawns map[string][]spawn // processes started per function
	probes map[int]int        // pings sent per process
}

// spawn is a process started, and when.
type spawn struct {
	pid int
	at  time.Time
}

// observers maps each Runtime that start made to its observer.
var observers = struct {
	sync.Mutex
	m map[*Runtime]*observer
}{m: make(map[*Runtime]*observer)}

// observe returns an observer and the hooks that feed it, with the load
// timeout shortened to loadTimeout when that is not 0.
func observe(loadTimeout time.Duration) (*observer, *hooks) {
	o := &observer{spawns: make(map[string][]spawn), probes: make(map[int]int)}
	return o, &hooks{
		loadTimeout: loadTimeout,
		spawned: func(function string, pid int) {
			o.mu.Lock()
			o.pids = append(o.pids, pid)
			o.spawns[function] = append(o.spawns[function], spawn{pid, time.Now()})
			o.mu.Unlock()
		},
		pinged: func(pid int) {
			o.mu.Lock()
			o.probes[pid]++
			o.mu.Unlock()
		},
	}
}

func observerOf(rt *Runtime) *observer {
	observers.Lock()
	defer observers.Unlock()
	return observers.m[rt]
}

// starts returns how many processes of function fn rt started.
func starts(rt *Runtime, fn string) int {
	o := observerOf(rt)
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.spawns[fn])
}

// spawns returns the processes of function fn rt started, in order.
func spawns(rt *Runtime, fn string) []spawn {
	o := observerOf(rt)
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]spawn(nil), o.spawns[fn]...)
}

// probes returns how many pings were sent to process p of rt.
func probes(rt *Runtime, p *proc) int {
	o := observerOf(rt)
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.probes[p.pid]
}

// started returns the process (group) ids rt started.
func started(rt *Runtime) []int {
	o := observerOf(rt)
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.pids...)
}
