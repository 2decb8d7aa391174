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
}

// AppendRequest appends the JSON event for r to dst, writing the document
// that [Event.AppendJSON] would write for the equivalent Event without
// building one: header names lower-cased, single-value maps holding the
// last value, multi-value maps holding the keys sent more than once, a body
// that is not UTF-8 base64-encoded. The gateway calls it
// once per request, so it allocates nothing beyond parsing the query.
func AppendRequest(dst []byte, r *Request) []byte {
	dst = append(dst, `{"path":`...)
	dst = appendString(dst, r.Path)
	dst = append(dst, `,"httpMethod":`...)
	dst = appendString(dst, r.Method)
	_, hasHost := r.Header["Host"]
	addHost := r.Host != "" && !hasHost
	dst = append(dst, `,"headers":{`...)
	first := true
	for k, vs := range r.Header {
		if len(vs) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendLowerKey(dst, k)
		dst = appendString(dst, vs[len(vs)-1])
	}
	if addHost {
		if !first {
			dst = append(dst, ',')
		}
		dst = append(dst, `"host":`...)
		dst = appendString(dst, r.Host)
	}
	dst = append(dst, `},"multiValueHeaders":{`...)
	first = true
	for k, vs := range r.Header {
		if len(vs) < 2 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendLowerKey(dst, k)
		dst = appendList(dst, vs)
	}
	dst = append(dst, '}')
	var q url.Values
	if r.RawQuery != "" {
		q, _ = url.ParseQuery(r.RawQuery) // keeps the pairs that parse
	}
	dst = append(dst, `,"queryStringParameters":{`...)
	first = true
	for k, vs := range q {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendString(dst, vs[len(vs)-1])
	}
	dst = append(dst, `},"multiValueQueryStringParameters":{`...)
	first = true
	for k, vs := range q {
		if len(vs) < 2 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendList(dst, vs)
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
	dst = append(dst, `,"isBase64Encoded":`...)
	dst = strconv.AppendBool(dst, b64)
	return appendContext(dst, &r.Context)
}

func appendContext(dst []byte, c *RequestContext) []byte {
	dst = append(dst, `,"requestContext":{"requestId":`...)
	dst = appendString(dst, c.RequestID)
	dst = append(dst, `,"envId":`...)
	dst = appendString(dst, c.EnvID)
	dst = append(dst, `,"functionName":`...)
	dst = appendString(dst, c.FunctionName)
	dst = append(dst, `,"domain":`...)
	dst = appendString(dst, c.Domain)
	dst = append(dst, `,"sourceIp":`...)
	dst = appendString(dst, c.SourceIP)
	dst = append(dst, `,"triggerPath":`...)
	dst = appendString(dst, c.TriggerPath)
	if c.TraceParent != "" {
		dst = append(dst, `,"traceparent":`...)
		dst = appendString(dst, c.TraceParent)
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

// appendLowerKey appends `"k":` with k lower-cased (ASCII).
func appendLowerKey(dst []byte, k string) []byte {
	start := len(dst)
	dst = appendString(dst, k)
	for i := start; i < len(dst); i++ {
		if c := dst[i]; c >= 'A' && c <= 'Z' {
			dst[i] = c + ('a' - 'A')
		}
	}
	return append(dst, ':')
}
