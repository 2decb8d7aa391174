package gateway

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// FuzzRunAt: whatever the delay headers say, runAt either refuses them
// with ErrInvalidDelay or answers a time within [now-1s, now+MaxDelay]
// (zero: no delay).
func FuzzRunAt(f *testing.F) {
	for _, seed := range [][2]string{{"90", ""}, {"1.5", ""}, {"2h", ""}, {"-1", ""}, {"NaN", ""}, {"1e30", ""},
		{"", "2026-12-03T06:00:00Z"}, {"", "tomorrow"}, {"5", "2026-12-03T06:00:00Z"}, {"0", ""}} {
		f.Add(seed[0], seed[1])
	}
	g := &Gateway{cfg: Config{MaxDelay: time.Hour}}
	now := time.Date(2026, 12, 3, 5, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, delay, at string) {
		h := http.Header{}
		if delay != "" {
			h.Set(HeaderInvocationDelay, delay)
		}
		if at != "" {
			h.Set(HeaderInvocationAt, at)
		}
		got, err := g.runAt(h, true, now)
		switch {
		case err != nil:
			if !errors.Is(err, ErrInvalidDelay) || !got.IsZero() {
				t.Fatalf("runAt(%q, %q) = %v, %v", delay, at, got, err)
			}
		case !got.IsZero() && (got.Before(now.Add(-time.Second)) || got.After(now.Add(time.Hour))):
			t.Fatalf("runAt(%q, %q) = %v, outside [now-1s, now+1h]", delay, at, got)
		}
	})
}
