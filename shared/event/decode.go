package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Decode parses an event. Events in the shape [Event.AppendJSON] writes take
// a fast path without reflection; anything else (unknown keys, numbers,
// duplicate keys, surrogate escapes, invalid UTF-8) is handed to
// encoding/json, so the result is always what encoding/json would produce.
func Decode(data []byte) (*Event, error) {
	var e Event
	d := decoder{s: string(data)}
	if err := d.event(&e); err == nil {
		return &e, nil
	}
	e = Event{}
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("event: decode: %w", err)
	}
	return &e, nil
}

// errSlow sends the decoder to encoding/json.
var errSlow = errors.New("event: not on the fast path")

// decoder reads from s, one string copy of the input, so that strings
// without escapes are substrings of it and cost no allocation.
type decoder struct {
	s string
	i int
}

func (d *decoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c.
func (d *decoder) next(c byte) bool {
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// null consumes a JSON null.
func (d *decoder) null() bool {
	d.ws()
	if len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "null" {
		d.i += 4
		return true
	}
	return false
}

func (d *decoder) str() (string, error) {
	if !d.next('"') {
		return "", errSlow
	}
	start := d.i
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			s := d.s[start:d.i]
			d.i++
			return s, nil
		case c == '\\':
			return d.escaped(start)
		case c >= 0x20 && c < utf8.RuneSelf:
			d.i++
		default:
			n := d.nonASCII()
			if n == 0 {
				return "", errSlow
			}
			d.i += n
		}
	}
	return "", errSlow
}

// nonASCII is the length of the character at d.i, which is not printable
// ASCII: a valid multi-byte UTF-8 sequence, or 0 for a control character or
// invalid UTF-8, which are left to encoding/json.
func (d *decoder) nonASCII() int {
	if d.s[d.i] < utf8.RuneSelf {
		return 0
	}
	r, n := utf8.DecodeRuneInString(d.s[d.i:])
	if r == utf8.RuneError && n == 1 {
		return 0
	}
	return n
}

// escaped finishes a string that has escapes, started at start.
func (d *decoder) escaped(start int) (string, error) {
	buf := make([]byte, 0, d.i-start+16)
	buf = append(buf, d.s[start:d.i]...)
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf), nil
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return "", errSlow
			}
			e := d.s[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				if d.i+4 > len(d.s) {
					return "", errSlow
				}
				var r rune
				for _, h := range []byte(d.s[d.i : d.i+4]) {
					switch {
					case h >= '0' && h <= '9':
						r = r<<4 | rune(h-'0')
					case h >= 'a' && h <= 'f':
						r = r<<4 | rune(h-'a'+10)
					case h >= 'A' && h <= 'F':
						r = r<<4 | rune(h-'A'+10)
					default:
						return "", errSlow
					}
				}
				if r >= 0xD800 && r < 0xE000 {
					return "", errSlow // surrogates: leave to encoding/json
				}
				d.i += 4
				buf = utf8.AppendRune(buf, r)
			default:
				return "", errSlow
			}
		case c >= 0x20 && c < utf8.RuneSelf:
			buf = append(buf, c)
			d.i++
		default:
			n := d.nonASCII()
			if n == 0 {
				return "", errSlow
			}
			buf = append(buf, d.s[d.i:d.i+n]...)
			d.i += n
		}
	}
	return "", errSlow
}

// object calls field for each key of an object; a repeated key is slow.
func (d *decoder) object(field func(key string) error) error {
	if !d.next('{') {
		return errSlow
	}
	if d.next('}') {
		return nil
	}
	for {
		k, err := d.str()
		if err != nil {
			return err
		}
		if !d.next(':') {
			return errSlow
		}
		if err := field(k); err != nil {
			return err
		}
		if d.next(',') {
			continue
		}
		if d.next('}') {
			return nil
		}
		return errSlow
	}
}

func (d *decoder) strInto(p *string) error {
	if d.null() {
		return nil
	}
	s, err := d.str()
	*p = s
	return err
}

func (d *decoder) strMap(p *map[string]string) error {
	if d.null() {
		*p = nil
		return nil
	}
	m := make(map[string]string)
	err := d.object(func(k string) error {
		if _, dup := m[k]; dup {
			return errSlow
		}
		v, err := d.str()
		m[k] = v
		return err
	})
	*p = m
	return err
}

func (d *decoder) multiMap(p *map[string][]string) error {
	if d.null() {
		*p = nil
		return nil
	}
	m := make(map[string][]string)
	err := d.object(func(k string) error {
		if _, dup := m[k]; dup || !d.next('[') {
			return errSlow
		}
		vs := []string{}
		if !d.next(']') {
			for {
				v, err := d.str()
				if err != nil {
					return err
				}
				vs = append(vs, v)
				if d.next(',') {
					continue
				}
				if d.next(']') {
					break
				}
				return errSlow
			}
		}
		m[k] = vs
		return nil
	})
	*p = m
	return err
}

// eventKeys and contextKeys are the keys of an event and of its
// requestContext in the order Event.AppendJSON writes them.
var (
	eventKeys = [...]string{"path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
		"multiValueQueryStringParameters", "body", "isBase64Encoded", "requestContext"}
	contextKeys = [...]string{"requestId", "envId", "functionName", "domain", "sourceIp", "triggerPath", "traceparent"}
)

func (d *decoder) event(e *Event) error {
	// read[i] reads the value of eventKeys[i]. Closures made here, not a
	// table of funcs taking d and e: those would make both escape.
	read := [len(eventKeys)]func() error{
		func() error { return d.strInto(&e.Path) },
		func() error { return d.strInto(&e.HTTPMethod) },
		func() error { return d.strMap(&e.Headers) },
		func() error { return d.multiMap(&e.MultiValueHeaders) },
		func() error { return d.strMap(&e.QueryStringParameters) },
		func() error { return d.multiMap(&e.MultiValueQueryStringParameters) },
		func() error { return d.strInto(&e.Body) },
		func() error { return d.boolInto(&e.IsBase64Encoded) },
		func() error { return d.requestContext(&e.RequestContext) },
	}
	if err := d.fields(eventKeys[:], func(i int) error { return read[i]() }); err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.s) {
		return errSlow
	}
	return nil
}

func (d *decoder) requestContext(c *RequestContext) error {
	to := [len(contextKeys)]*string{&c.RequestID, &c.EnvID, &c.FunctionName, &c.Domain, &c.SourceIP, &c.TriggerPath, &c.TraceParent}
	return d.fields(contextKeys[:], func(i int) error { return d.strInto(to[i]) })
}

// fields reads an object whose keys are among keys (16 at most), calling
// read with the index of each. An unknown or repeated key is slow:
// encoding/json's case folding and merge rules apply.
func (d *decoder) fields(keys []string, read func(i int) error) error {
	var seen uint16
	next := 0
	return d.object(func(k string) error {
		i := index(keys, k, next)
		if i < 0 || seen&(1<<i) != 0 {
			return errSlow
		}
		seen |= 1 << i
		next = i + 1
		return read(i)
	})
}

// index finds k in keys, trying from start on first: keys mostly come in
// the order Event.AppendJSON writes them, so the first try is a hit.
func index(keys []string, k string, start int) int {
	for n, i := 0, start; n < len(keys); n, i = n+1, i+1 {
		if i == len(keys) {
			i = 0
		}
		if keys[i] == k {
			return i
		}
	}
	return -1
}

// boolInto reads true or false (null is left to encoding/json).
func (d *decoder) boolInto(p *bool) error {
	d.ws()
	switch {
	case len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "true":
		*p, d.i = true, d.i+4
	case len(d.s)-d.i >= 5 && d.s[d.i:d.i+5] == "false":
		*p, d.i = false, d.i+5
	default:
		return errSlow
	}
	return nil
}
