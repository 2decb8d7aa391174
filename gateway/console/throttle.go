package console

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// Sign-in throttling: each client may try signInBurst tokens at once, then
// one every signInEvery. At most signInClients clients are remembered, so
// the table cannot be grown by an attacker; past that the least recently
// seen is forgotten (which gives it a full bucket again: a caller with
// that many addresses gains nothing it could not get by rotating them).
const (
	signInBurst   = 10
	signInEvery   = 6 * time.Second
	signInClients = 4096
)

// throttle is a token bucket per client address.
type throttle struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	max     int
	now     func() time.Time
	clients map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

func newThrottle(burst int, every time.Duration, max int) *throttle {
	return &throttle{burst: float64(burst), every: every, max: max, now: time.Now, clients: map[string]*bucket{}}
}

// take spends one attempt of client; when none is left it reports how long
// until the next one.
func (t *throttle) take(client string) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.clients[client]
	if b == nil {
		if len(t.clients) >= t.max {
			t.evict(now)
		}
		b = &bucket{tokens: t.burst, at: now}
		t.clients[client] = b
	}
	b.tokens = min(t.burst, b.tokens+float64(now.Sub(b.at))/float64(t.every))
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration(math.Ceil((1 - b.tokens) * float64(t.every)))
	}
	b.tokens--
	return true, 0
}

// evict makes room for one client: first it forgets every client whose
// bucket has filled up again (they are no different from a new one), and
// when there is none, the least recently seen.
func (t *throttle) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for k, b := range t.clients {
		if b.tokens+float64(now.Sub(b.at))/float64(t.every) >= t.burst {
			delete(t.clients, k)
			continue
		}
		if oldest == "" || b.at.Before(oldestAt) {
			oldest, oldestAt = k, b.at
		}
	}
	if len(t.clients) >= t.max {
		delete(t.clients, oldest)
	}
}

// clientOf names the client of r for throttling: the peer address, IPv6
// by its /64 (one host usually holds a whole /64). The admin listener
// does not believe X-Forwarded-For; behind a proxy every client shares
// the proxy's bucket.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
