package event

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"golang.org/x/net/http/httpguts"
)

// Error codes a worker puts on a failed reply. The gateway maps each to an
// HTTP status in one place; the message is logged there and never shown to
// HTTP clients.
const (
	// CodeFunctionError: the function returned an error or panicked.
	CodeFunctionError = "FUNCTION_ERROR"
	// CodeLoadError: the function could not be loaded (syntax error, no main).
	CodeLoadError = "FUNCTION_LOAD_ERROR"
	// CodeTimeout: the function was still running at the call's deadline.
	CodeTimeout = "FUNCTION_TIMEOUT"
	// CodeInvalidResponse: the function returned something that is not a
	// valid HTTP response (a bad status code, a body too large for NATS).
	CodeInvalidResponse = "INVALID_RESPONSE"
	// CodeInvalidEvent: the worker could not decode the event.
	CodeInvalidEvent = "INVALID_EVENT"
)

// Error is a failed invocation as reported by a worker.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Response is the envelope a function returns to choose its HTTP status,
// headers and body.
type Response struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded,omitempty"`
}

// Reply is the HTTP response a worker sends back for one invocation.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

const (
	contentJSON = "application/json"
	contentText = "text/plain; charset=utf-8"
	contentBin  = "application/octet-stream"
)

// FromResponse turns an envelope into a reply, decoding a base64 body and
// choosing a Content-Type when the function set none: application/json for
// a body that is valid JSON, application/octet-stream for a base64 body, else
// text/plain.
func FromResponse(r *Response) (*Reply, error) {
	if r.StatusCode < 100 || r.StatusCode > 599 {
		return nil, &Error{Code: CodeInvalidResponse, Message: fmt.Sprintf("statusCode %d out of range 100-599", r.StatusCode)}
	}
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			return nil, &Error{Code: CodeInvalidResponse, Message: "body flagged isBase64Encoded is not base64: " + err.Error()}
		}
		body = b
	}
	h := make(http.Header, len(r.Headers)+len(r.MultiValueHeaders)+1)
	for k, vs := range r.MultiValueHeaders {
		for _, v := range vs {
			addHeader(h, k, v)
		}
	}
	for k, v := range r.Headers {
		if _, ok := h[http.CanonicalHeaderKey(k)]; !ok {
			addHeader(h, k, v)
		}
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		switch {
		case r.IsBase64Encoded:
			h.Set("Content-Type", contentBin)
		case json.Valid(body):
			h.Set("Content-Type", contentJSON)
		default:
			h.Set("Content-Type", contentText)
		}
	}
	return &Reply{Status: r.StatusCode, Header: h, Body: body}, nil
}

// addHeader adds a header the function set, dropping names and values that
// are not valid HTTP and headers the gateway owns (framing, hop-by-hop).
func addHeader(h http.Header, k, v string) {
	if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
		return
	}
	k = http.CanonicalHeaderKey(k)
	switch k {
	case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer":
		return
	}
	h[k] = append(h[k], v)
}

// FromGo turns a Go function's return value into a reply: a Response (or
// *Response) is an envelope, a string is text, nil is an empty 200, a
// json.RawMessage is integrated by [FromValue], and any other value is
// encoded as JSON and sent as application/json (a JSON string or number as
// text/plain). Unlike [FromValue], a Go map or struct is never taken for an
// envelope: return a Response to set the status.
func FromGo(v any) (*Reply, error) {
	var b []byte
	switch v := v.(type) {
	case nil:
		return &Reply{Status: http.StatusOK}, nil
	case *Response:
		if v == nil {
			return &Reply{Status: http.StatusOK}, nil
		}
		return FromResponse(v)
	case Response:
		return FromResponse(&v)
	case string:
		return textReply([]byte(v)), nil
	case json.RawMessage:
		return FromValue(v)
	case *Event:
		b = v.AppendJSON(make([]byte, 0, 512+len(v.Body)*6/5))
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, &Error{Code: CodeInvalidResponse, Message: "result is not JSON: " + err.Error()}
		}
	}
	switch b[0] {
	case '{', '[':
		return jsonReply(b), nil
	case '"':
		var s string
		_ = json.Unmarshal(b, &s)
		return textReply([]byte(s)), nil
	case 'n':
		return &Reply{Status: http.StatusOK}, nil
	default:
		return textReply(b), nil
	}
}

// FromValue turns the JSON encoding of a function's return value into a
// reply by the rule in the package documentation. An object is an envelope
// when it has a "statusCode" key.
func FromValue(raw []byte) (*Reply, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return &Reply{Status: http.StatusOK}, nil
	}
	switch raw[0] {
	case '{':
		var probe struct {
			StatusCode        json.RawMessage  `json:"statusCode"`
			Headers           map[string]any   `json:"headers"`
			MultiValueHeaders map[string][]any `json:"multiValueHeaders"`
			Body              json.RawMessage  `json:"body"`
			IsBase64Encoded   bool             `json:"isBase64Encoded"`
			// Cookies of an API Gateway payload 2.0 response.
			Cookies []string `json:"cookies"`
		}
		// A value that cannot fill the probe (e.g. "headers" that is not an
		// object) is no envelope; it is sent as JSON like any object.
		if err := json.Unmarshal(raw, &probe); err == nil && probe.StatusCode != nil {
			r, err := envelope(&probe.StatusCode, probe.Headers, probe.MultiValueHeaders, probe.Body, probe.IsBase64Encoded)
			if err == nil && len(probe.Cookies) > 0 {
				setCookies(r.Header, probe.Cookies)
			}
			return r, err
		}
		return jsonReply(raw), nil
	case '[':
		return jsonReply(raw), nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, &Error{Code: CodeInvalidResponse, Message: "result is not JSON: " + err.Error()}
		}
		return textReply([]byte(s)), nil
	default:
		if !json.Valid(raw) {
			return nil, &Error{Code: CodeInvalidResponse, Message: "result is not JSON"}
		}
		return textReply(raw), nil
	}
}

func envelope(status *json.RawMessage, headers map[string]any, multi map[string][]any, body json.RawMessage, b64 bool) (*Reply, error) {
	code, err := strconv.Atoi(string(*status))
	if err != nil {
		return nil, &Error{Code: CodeInvalidResponse, Message: "statusCode is not an integer: " + string(*status)}
	}
	r := &Response{StatusCode: code, IsBase64Encoded: b64}
	if len(headers) > 0 {
		r.Headers = make(map[string]string, len(headers))
		for k, v := range headers {
			r.Headers[k] = scalar(v)
		}
	}
	if len(multi) > 0 {
		r.MultiValueHeaders = make(map[string][]string, len(multi))
		for k, vs := range multi {
			for _, v := range vs {
				r.MultiValueHeaders[k] = append(r.MultiValueHeaders[k], scalar(v))
			}
		}
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0 || string(body) == "null":
	case body[0] == '"':
		if err := json.Unmarshal(body, &r.Body); err != nil {
			return nil, &Error{Code: CodeInvalidResponse, Message: "body: " + err.Error()}
		}
	default:
		// A body that is an object or number is sent as its JSON text,
		// sparing authors a JSON.stringify they forgot.
		r.Body = string(body)
	}
	return FromResponse(r)
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// Shared, read-only header values for the common replies; nothing downstream
// writes to a header value slice.
var (
	jsonType = []string{contentJSON}
	textType = []string{contentText}
	status   = func() (s [600][]string) {
		for i := 100; i < 600; i++ {
			s[i] = []string{strconv.Itoa(i)}
		}
		return
	}()
)

func jsonReply(b []byte) *Reply {
	return &Reply{Status: http.StatusOK, Header: http.Header{"Content-Type": jsonType}, Body: b}
}

func textReply(b []byte) *Reply {
	return &Reply{Status: http.StatusOK, Header: http.Header{"Content-Type": textType}, Body: b}
}

// Msg encodes r as a NATS reply message (without subject): the payload is
// the body, the status and each header travel as NATS headers.
//
// The commonest reply, 200 with a JSON body and no header but its
// Content-Type, travels in compact form: the body alone, with no NATS
// headers. Headers cost every hop (encoding in the worker, parsing in the
// NATS server and the gateway); dropping them here makes a whole sync call
// about 5% cheaper (README, performance notes).
func (r *Reply) Msg() *nats.Msg {
	if r.compact() {
		return &nats.Msg{Data: r.Body}
	}
	m := &nats.Msg{Header: make(nats.Header, len(r.Header)+1), Data: r.Body}
	if r.Status >= 100 && r.Status < 600 {
		m.Header[HeaderStatus] = status[r.Status]
	} else {
		m.Header[HeaderStatus] = []string{strconv.Itoa(r.Status)}
	}
	for k, vs := range r.Header {
		m.Header[HeaderResponsePrefix+k] = vs
	}
	return m
}

// compact reports whether r is 200, application/json, with a body and no
// other header.
func (r *Reply) compact() bool {
	if r.Status != http.StatusOK || len(r.Body) == 0 || len(r.Header) != 1 {
		return false
	}
	ct := r.Header["Content-Type"]
	return len(ct) == 1 && ct[0] == contentJSON
}

// ErrorMsg encodes a failed invocation as a NATS reply message.
func ErrorMsg(e *Error) *nats.Msg {
	return &nats.Msg{
		Header: nats.Header{HeaderError: {e.Code}},
		Data:   []byte(e.Message),
	}
}

// ErrorCode is the error code of a reply that is an [ErrorMsg], else "".
func ErrorCode(m *nats.Msg) string {
	return first(m.Header, HeaderError)
}

// ErrNotReply reports a NATS message that is not a worker reply.
var ErrNotReply = errors.New("event: message is not a worker reply")

// ParseReply decodes a worker's reply, adding its headers to h (the HTTP
// response's, so nothing is copied twice) and returning status and body. A
// failed invocation is returned as an *Error. A reply with a body and no
// NATS headers is the compact form of 200 application/json (see [Reply.Msg]).
func ParseReply(m *nats.Msg, h http.Header) (status int, body []byte, err error) {
	if len(m.Header) == 0 {
		if len(m.Data) == 0 {
			return 0, nil, ErrNotReply
		}
		h["Content-Type"] = jsonType
		return http.StatusOK, m.Data, nil
	}
	if code := ErrorCode(m); code != "" {
		return 0, nil, &Error{Code: code, Message: string(m.Data)}
	}
	status, err = strconv.Atoi(first(m.Header, HeaderStatus))
	if err != nil || status < 100 || status > 599 {
		return 0, nil, ErrNotReply
	}
	for k, vs := range m.Header {
		if name, ok := strings.CutPrefix(k, HeaderResponsePrefix); ok {
			h[name] = vs
		}
	}
	return status, m.Data, nil
}
