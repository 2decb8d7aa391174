package event

import (
	"bytes"
	"encoding/json"
	"strings"
)

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

// Kept is the event as fngate keeps it (in a record, a dead letter or the
// admin view of a queued invocation): with the named headers redacted; an
// event that cannot be decoded for that is withheld rather than kept with
// them. Data that is not JSON is kept as a JSON string.
func Kept(data []byte, redact []string) json.RawMessage {
	if len(redact) != 0 && mayHold(data, redact) {
		b, err := Redact(data, redact)
		if err != nil {
			return json.RawMessage(`"[event withheld: it could not be decoded to redact its headers]"`)
		}
		data = b
	}
	if json.Valid(data) {
		return data
	}
	q, _ := json.Marshal(string(data))
	return q
}

// mayHold reports whether data may hold a header of names: the encoder
// writes header names as lower-case JSON keys, so an event without the
// quoted name has none of them and needs no decoding.
func mayHold(data []byte, names []string) bool {
	for _, n := range names {
		key := make([]byte, 0, len(n)+2)
		key = append(append(append(key, '"'), strings.ToLower(strings.TrimSpace(n))...), '"')
		if bytes.Contains(data, key) {
			return true
		}
	}
	return false
}
