package gateway

import "net/http"

// HeaderTraceParent is the W3C trace context header.
const HeaderTraceParent = "Traceparent"

// traceParent returns the caller's W3C traceparent when it is valid, else
// "": fngate passes trace context through and records no spans itself.
func traceParent(h http.Header) string {
	if v := h.Get(HeaderTraceParent); validTraceParent(v) {
		return v
	}
	return ""
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
