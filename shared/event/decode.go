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
		case c < 0x20:
			return "", errSlow
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && n == 1 {
				return "", errSlow
			}
			d.i += n
		default:
			d.i++
		}
	}
	return "", errSlow
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
		case c < 0x20:
			return "", errSlow
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && n == 1 {
				return "", errSlow
			}
			buf = append(buf, d.s[d.i:d.i+n]...)
			d.i += n
		default:
			buf = append(buf, c)
			d.i++
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

func (d *decoder) event(e *Event) error {
	var seen uint16
	err := d.object(func(k string) error {
		var bit uint16
		var read func() error
		switch k {
		case "path":
			bit, read = 1, func() error { return d.strInto(&e.Path) }
		case "httpMethod":
			bit, read = 2, func() error { return d.strInto(&e.HTTPMethod) }
		case "headers":
			bit, read = 4, func() error { return d.strMap(&e.Headers) }
		case "multiValueHeaders":
			bit, read = 8, func() error { return d.multiMap(&e.MultiValueHeaders) }
		case "queryStringParameters":
			bit, read = 16, func() error { return d.strMap(&e.QueryStringParameters) }
		case "multiValueQueryStringParameters":
			bit, read = 32, func() error { return d.multiMap(&e.MultiValueQueryStringParameters) }
		case "body":
			bit, read = 64, func() error { return d.strInto(&e.Body) }
		case "isBase64Encoded":
			bit, read = 128, func() error { return d.boolInto(&e.IsBase64Encoded) }
		case "requestContext":
			bit, read = 256, func() error { return d.requestContext(&e.RequestContext) }
		default:
			return errSlow
		}
		if seen&bit != 0 {
			return errSlow // a repeated key: encoding/json's merge rules apply
		}
		seen |= bit
		return read()
	})
	if err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.s) {
		return errSlow
	}
	return nil
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

func (d *decoder) requestContext(c *RequestContext) error {
	var seen uint8
	return d.object(func(k string) error {
		var p *string
		var bit uint8
		switch k {
		case "requestId":
			p, bit = &c.RequestID, 1
		case "envId":
			p, bit = &c.EnvID, 2
		case "functionName":
			p, bit = &c.FunctionName, 4
		case "domain":
			p, bit = &c.Domain, 8
		case "sourceIp":
			p, bit = &c.SourceIP, 16
		case "triggerPath":
			p, bit = &c.TriggerPath, 32
		case "traceparent":
			p, bit = &c.TraceParent, 64
		default:
			return errSlow
		}
		if seen&bit != 0 {
			return errSlow
		}
		seen |= bit
		return d.strInto(p)
	})
}
