package gateway

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"
)

// HeaderTraceParent is the W3C trace context header.
const HeaderTraceParent = "Traceparent"

// traceParent returns the caller's W3C traceparent when it is valid, else
// starts a new trace (not sampled: fngate records no spans of its own).
func traceParent(h http.Header) string {
	if v := h.Get(HeaderTraceParent); validTraceParent(v) {
		return v
	}
	var b [24]byte
	for i := 0; i < len(b); i += 8 {
		v := rand.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	out := make([]byte, 0, 55)
	out = append(out, "00-"...)
	out = hex.AppendEncode(out, b[:16])
	out = append(out, '-')
	out = hex.AppendEncode(out, b[16:])
	return string(append(out, "-00"...))
}

// validTraceParent accepts version 00: 00-<32 hex>-<16 hex>-<2 hex>, with
// ids that are not all zeros.
func validTraceParent(v string) bool {
	if len(v) != 55 || v[:3] != "00-" || v[35] != '-' || v[52] != '-' {
		return false
	}
	zeroTrace, zeroParent := true, true
	for i := 3; i < 55; i++ {
		c := v[i]
		switch {
		case i == 35 || i == 52:
			continue
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		default:
			return false
		}
		if c != '0' {
			if i < 35 {
				zeroTrace = false
			} else if i < 52 {
				zeroParent = false
			}
		}
	}
	return !zeroTrace && !zeroParent
}
