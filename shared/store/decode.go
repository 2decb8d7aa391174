package store

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/fngate/fngate/shared/route"
)

// decode reads a stored route.
func decode(data string) (route.Route, error) {
	r, ok := decodePlain(data)
	if !ok {
		r = route.Route{}
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			return r, err
		}
	}
	return r, r.Normalize()
}

// decodePlain reads a stored route that has only the common fields, as
// the store writes them (json.Marshal: no spaces, no escapes, ASCII),
// into what encoding/json would make of it; ok is false for anything
// else, which encoding/json then reads. A gateway reads 100,000 routes
// at start, and encoding/json's reflection was most of that start's CPU.
func decodePlain(data string) (r route.Route, ok bool) {
	if len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		return r, false
	}
	s := data[1 : len(data)-1]
	for s != "" {
		var key, v string
		if key, s, ok = plainString(s); !ok || s == "" || s[0] != ':' {
			return r, false
		}
		s = s[1:]
		if key == "methods" {
			if r.Methods, s, ok = plainStrings(s); !ok {
				return r, false
			}
		} else {
			if v, s, ok = plainString(s); !ok {
				return r, false
			}
			switch key {
			case "id":
				r.ID = strings.Clone(v)
			case "domain":
				r.Domain = strings.Clone(v)
			case "path":
				r.Path = strings.Clone(v)
			case "function":
				r.Function = strings.Clone(v)
			case "mode":
				r.Mode = strings.Clone(v)
			case "timeout":
				d, err := time.ParseDuration(v)
				if err != nil {
					return r, false
				}
				r.Timeout = route.Duration(d)
			default:
				return r, false
			}
		}
		if s != "" {
			if s[0] != ',' || len(s) == 1 {
				return r, false
			}
			s = s[1:]
		}
	}
	return r, true
}

// plainString reads a JSON string without escapes, control characters
// or bytes past ASCII (those need encoding/json's rules) from the start
// of s, and returns the rest.
func plainString(s string) (v, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		return "", s, false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[1:i], s[i+1:], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", s, false
		}
	}
	return "", s, false
}

// plainStrings reads a non-empty JSON array of plain strings.
func plainStrings(s string) (vs []string, rest string, ok bool) {
	if s == "" || s[0] != '[' {
		return nil, s, false
	}
	s = s[1:]
	for {
		var v string
		if v, s, ok = plainString(s); !ok || s == "" {
			return nil, s, false
		}
		vs = append(vs, strings.Clone(v))
		if s[0] == ']' {
			return vs, s[1:], true
		}
		if s[0] != ',' {
			return nil, s, false
		}
		s = s[1:]
	}
}
