package route

import (
	"testing"
	"time"
)

// streamIdleTimeout defaults to DefaultStreamIdleTimeout.
func TestStreamIdle(t *testing.T) {
	t.Parallel()
	r := Route{Domain: "*", Path: "/a", Function: "f", StreamIdleTimeout: Duration(2 * time.Second)}
	if err := r.Normalize(); err != nil || r.StreamIdle() != 2*time.Second {
		t.Fatalf("StreamIdle = %s, %v", r.StreamIdle(), err)
	}
	if d := (&Route{}).StreamIdle(); d != DefaultStreamIdleTimeout {
		t.Fatalf("default StreamIdle = %s", d)
	}
}
