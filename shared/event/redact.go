package event

import "strings"

// Redacted replaces the value of a redacted header in stored copies of an
// event (invocation records, dead letters).
const Redacted = "[redacted]"

// Redact returns the encoded event data with the values of the named
// headers (any case) replaced by Redacted, or data itself when none is
// present. It is for copies that are kept, never for the event a function
// is sent.
func Redact(data []byte, names []string) ([]byte, error) {
	if len(names) == 0 {
		return data, nil
	}
	ev, err := Decode(data)
	if err != nil {
		return nil, err
	}
	changed := false
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if _, ok := ev.Headers[n]; ok {
			ev.Headers[n], changed = Redacted, true
		}
		if vs, ok := ev.MultiValueHeaders[n]; ok {
			red := make([]string, len(vs))
			for i := range red {
				red[i] = Redacted
			}
			ev.MultiValueHeaders[n], changed = red, true
		}
	}
	if !changed {
		return data, nil
	}
	return ev.AppendJSON(nil), nil
}
