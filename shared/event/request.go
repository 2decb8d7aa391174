package event

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"
)

// Request is the part of an HTTP request an event is made of.
type Request struct {
	Method string
	// Path is the event path (already cut by stripPrefix).
	Path     string
	Host     string
	Header   http.Header
	RawQuery string
	Body     []byte
	Context  RequestContext
	// Format is the event's format (route.PayloadFormat): "" for the
	// CloudBase event, or FormatAPIGatewayV1/V2 (see [Append]). Proto
	// ("HTTP/1.1") is in the Lambda formats' request context only.
	Format, Proto string
}

// AppendRequest appends the JSON event for r to dst, writing the document
// that [Event.AppendJSON] would write for the equivalent Event without
// building one: header names lower-cased, single-value maps holding the
// last value, multi-value maps holding the keys sent more than once, a body
// that is not UTF-8 base64-encoded. The gateway calls it
// once per request, so it allocates nothing beyond parsing the query.
func AppendRequest(dst []byte, r *Request) []byte {
	dst = appendMember(dst, `{"path":`, r.Path)
	dst = appendMember(dst, `,"httpMethod":`, r.Method)
	dst, empty, repeated := appendValues(append(dst, `,"headers":{`...), r.Header, false, true)
	if _, hasHost := r.Header["Host"]; r.Host != "" && !hasHost {
		if !empty {
			dst = append(dst, ',')
		}
		dst = appendMember(dst, `"host":`, r.Host)
	}
	dst = append(dst, `},"multiValueHeaders":{`...)
	if repeated {
		dst, _, _ = appendValues(dst, r.Header, true, true)
	}
	var q url.Values
	if r.RawQuery != "" {
		q, _ = url.ParseQuery(r.RawQuery) // keeps the pairs that parse
	}
	dst, _, repeated = appendValues(append(dst, `},"queryStringParameters":{`...), q, false, false)
	dst = append(dst, `},"multiValueQueryStringParameters":{`...)
	if repeated {
		dst, _, _ = appendValues(dst, q, true, false)
	}
	dst = append(dst, `},"body":`...)
	b64 := !utf8.Valid(r.Body)
	if b64 {
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, r.Body)
		dst = append(dst, '"')
	} else {
		dst = appendBytesString(dst, r.Body)
	}
	dst = strconv.AppendBool(append(dst, `,"isBase64Encoded":`...), b64)
	return appendContext(dst, &r.Context)
}

// appendValues appends the members of an event's map made from m: in a
// single-value map (multi false) each key with its last value, in a
// multi-value map only the keys sent more than once, with their lists.
// Header names (lower) are lower-cased. empty reports that none was
// written, repeated that a key has more than one value: without one, the
// multi-value map is empty and m need not be read again.
func appendValues(dst []byte, m map[string][]string, multi, lower bool) (_ []byte, empty, repeated bool) {
	empty = true
	for k, vs := range m {
		repeated = repeated || len(vs) > 1
		if len(vs) == 0 || multi && len(vs) < 2 {
			continue
		}
		start := len(dst)
		dst = appendKey(dst, k, empty)
		empty = false
		if lower {
			lowerASCII(dst[start:])
		}
		if multi {
			dst = appendList(dst, vs)
		} else {
			dst = appendString(dst, vs[len(vs)-1])
		}
	}
	return dst, empty, repeated
}

func appendContext(dst []byte, c *RequestContext) []byte {
	dst = appendMember(dst, `,"requestContext":{"requestId":`, c.RequestID)
	dst = appendMember(dst, `,"envId":`, c.EnvID)
	dst = appendMember(dst, `,"functionName":`, c.FunctionName)
	dst = appendMember(dst, `,"domain":`, c.Domain)
	dst = appendMember(dst, `,"sourceIp":`, c.SourceIP)
	dst = appendMember(dst, `,"triggerPath":`, c.TriggerPath)
	if c.TraceParent != "" {
		dst = appendMember(dst, `,"traceparent":`, c.TraceParent)
	}
	return append(dst, "}}"...)
}

func appendList(dst []byte, vs []string) []byte {
	dst = append(dst, '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, v)
	}
	return append(dst, ']')
}

// lowerASCII lower-cases the ASCII letters of b in place.
func lowerASCII(b []byte) {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
}
