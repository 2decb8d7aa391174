package route

import (
	"fmt"
	"strings"
	"time"
)

// Payload formats (PayloadFormat): the event a function receives and how
// its answer is read (package event builds and reads each).
const (
	FormatCloudBase    = "cloudbase"
	FormatAPIGatewayV1 = "apigw-v1"
	FormatAPIGatewayV2 = "apigw-v2"
)

// MinFallbackAfter is the shortest fallbackAfter a route may set: a
// shorter wait would answer 202 to calls that a round trip could finish.
const MinFallbackAfter = 100 * time.Millisecond

// DefaultStreamIdleTimeout is a route's streamIdleTimeout when it sets
// none; MinStreamIdleTimeout the shortest it may set.
const (
	DefaultStreamIdleTimeout = 30 * time.Second
	MinStreamIdleTimeout     = 100 * time.Millisecond
)

// StreamIdle is the route's streamIdleTimeout, its default when unset.
func (r *Route) StreamIdle() time.Duration {
	if r.StreamIdleTimeout > 0 {
		return time.Duration(r.StreamIdleTimeout)
	}
	return DefaultStreamIdleTimeout
}

// validateSync checks the options of the synchronous path (#17).
func (r *Route) validateSync() error {
	if f := time.Duration(r.FallbackAfter); f != 0 && (f < MinFallbackAfter || f >= time.Duration(r.Timeout)) {
		return &FieldError{"fallbackAfter", fmt.Sprintf("%s is outside %s..timeout (%s, exclusive)", f, MinFallbackAfter, time.Duration(r.Timeout))}
	}
	if d := time.Duration(r.StreamIdleTimeout); d != 0 && (d < MinStreamIdleTimeout || d > MaxTimeout) {
		return &FieldError{"streamIdleTimeout", fmt.Sprintf("%s is outside %s..%s", d, MinStreamIdleTimeout, MaxTimeout)}
	}
	switch r.PayloadFormat = strings.ToLower(strings.TrimSpace(r.PayloadFormat)); r.PayloadFormat {
	case "", FormatCloudBase:
		r.PayloadFormat = "" // the default has one form
	case FormatAPIGatewayV1, FormatAPIGatewayV2:
	default:
		return &FieldError{"payloadFormat", fmt.Sprintf("%q is not %s, %s or %s", r.PayloadFormat, FormatCloudBase, FormatAPIGatewayV1, FormatAPIGatewayV2)}
	}
	return nil
}
