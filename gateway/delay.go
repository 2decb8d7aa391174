package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/fngate/fngate/shared/queue"
)

// HTTP headers that delay an asynchronous invocation.
const (
	// HeaderInvocationDelay delays the run by seconds ("90", "1.5") or a
	// Go duration ("90s", "2h").
	HeaderInvocationDelay = "X-Invocation-Delay"
	// HeaderInvocationAt runs it at an RFC 3339 time.
	HeaderInvocationAt = "X-Invocation-At"
)

// Bounds of Config.MaxDelay.
const (
	DefaultMaxDelay = 7 * 24 * time.Hour
	// MaxDelayLimit is the invocation stream's MaxAge: a delay longer
	// than that could never be kept. (A delayed invocation's maxEventAge
	// counts from when it fires.)
	MaxDelayLimit = queue.DefaultMaxAge
)

// DefaultMaxDelayedBytes bounds delayed invocations as
// queue.DefaultMaxBytes bounds the queued ones.
const DefaultMaxDelayedBytes = queue.DefaultMaxBytes

// delayedCheckEvery is how old a reading of the schedules stream's size
// may be: past the bound, at most this long of delayed accepts gets in.
const delayedCheckEvery = time.Second

// delayedRoom keeps delayed accepts within Config.MaxDelayedBytes: the
// schedules stream's size read at most every delayedCheckEvery, plus the
// bytes this gateway published since (other gateways' since then are the
// slack: a second of their delayed accepts).
type delayedRoom struct {
	mu      sync.Mutex
	at      time.Time // of the last reading (or failed try); zero: none
	bytes   uint64    // the reading plus what was published since
	reading bool      // one accept is reading; the others count on
}

// delayedFull returns ErrQueueFull when n more bytes of delayed
// invocation would pass Config.MaxDelayedBytes, and else counts them. One
// accept at a time reads the stream's size, outside the lock, at most
// every delayedCheckEvery; the others count on the last reading meanwhile.
// A reading that fails lets the accepts of the next second try (the
// publish then says whether JetStream is there).
func (g *Gateway) delayedFull(ctx context.Context, n int) error {
	if g.cfg.MaxDelayedBytes < 0 || g.queued == nil {
		return nil
	}
	r := &g.delayed
	r.mu.Lock()
	if now := time.Now(); now.Sub(r.at) >= delayedCheckEvery && !r.reading {
		r.reading = true
		r.mu.Unlock()
		size, err := g.queued.DelayedBytes(ctx)
		r.mu.Lock()
		r.reading, r.at = false, now
		if err != nil {
			g.log.Warn("reading the delayed invocations' size failed", "err", err)
		} else {
			r.bytes = size
		}
	}
	defer r.mu.Unlock()
	if r.bytes+uint64(n) > uint64(g.cfg.MaxDelayedBytes) {
		return fmt.Errorf("%w: delayed invocations hold FNGATE_DELAYED_MAX_BYTES", ErrQueueFull)
	}
	r.bytes += uint64(n)
	return nil
}

// ErrInvalidDelay: X-Invocation-Delay or X-Invocation-At is unparseable,
// negative, in the past, beyond FNGATE_MAX_DELAY, or on a synchronous
// call.
var ErrInvalidDelay = errors.New("invalid invocation delay")

// asyncOpts are an accepted invocation's options from its headers.
type asyncOpts struct {
	callback string    // X-Callback-Url; "" none
	runAt    time.Time // X-Invocation-Delay or -At; zero: run now
}

// runAt parses the delay headers of a request (async says whether it is
// queued) into the time it runs; zero when it has none, or a delay of 0.
func (g *Gateway) runAt(h http.Header, async bool, now time.Time) (time.Time, error) {
	delay, at := h.Get(HeaderInvocationDelay), h.Get(HeaderInvocationAt)
	if delay == "" && at == "" {
		return time.Time{}, nil
	}
	var t time.Time
	switch {
	case !async:
		return t, fmt.Errorf("%w: only asynchronous invocations can be delayed", ErrInvalidDelay)
	case delay != "" && at != "":
		return t, fmt.Errorf("%w: %s and %s exclude each other", ErrInvalidDelay, HeaderInvocationDelay, HeaderInvocationAt)
	case delay != "":
		d, err := time.ParseDuration(delay)
		if err != nil {
			secs, ferr := strconv.ParseFloat(delay, 64)
			if ferr != nil || secs != secs || secs > float64(MaxDelayLimit/time.Second) {
				return t, fmt.Errorf("%w: %s must be seconds or a Go duration such as 90s", ErrInvalidDelay, HeaderInvocationDelay)
			}
			d = time.Duration(secs * float64(time.Second))
		}
		if d < 0 {
			return t, fmt.Errorf("%w: %s must not be negative", ErrInvalidDelay, HeaderInvocationDelay)
		}
		if d == 0 {
			return t, nil
		}
		t = now.Add(d)
	default:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return t, fmt.Errorf("%w: %s must be an RFC 3339 time such as 2026-12-03T06:00:00Z", ErrInvalidDelay, HeaderInvocationAt)
		}
		if t.Before(now.Add(-time.Second)) { // a second for the clocks of caller and gateway
			return time.Time{}, fmt.Errorf("%w: %s is in the past", ErrInvalidDelay, HeaderInvocationAt)
		}
	}
	if t.Sub(now) > g.cfg.MaxDelay {
		return time.Time{}, fmt.Errorf("%w: at most %s ahead (FNGATE_MAX_DELAY)", ErrInvalidDelay, g.cfg.MaxDelay)
	}
	return t.UTC(), nil
}
