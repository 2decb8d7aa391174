package route

import (
	"fmt"
	"time"
)

// MinFallbackAfter is the shortest fallbackAfter a route may set: a
// shorter wait would answer 202 to calls that a round trip could finish.
const MinFallbackAfter = 100 * time.Millisecond

// validateSync checks the options of the synchronous path (#17).
func (r *Route) validateSync() error {
	if f := time.Duration(r.FallbackAfter); f != 0 && (f < MinFallbackAfter || f >= time.Duration(r.Timeout)) {
		return &FieldError{"fallbackAfter", fmt.Sprintf("%s is outside %s..timeout (%s, exclusive)", f, MinFallbackAfter, time.Duration(r.Timeout))}
	}
	return nil
}
