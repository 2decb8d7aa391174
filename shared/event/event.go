package event

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// Event is what a function receives for one HTTP request.
type Event struct {
	// Path is the request path, or the part after the trigger path when the
	// route strips its prefix.
	Path       string `json:"path"`
	HTTPMethod string `json:"httpMethod"`
	// Headers holds one value per header, the last one sent; names are
	// lower-case. MultiValueHeaders holds every value of each header that
	// was sent more than once.
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	// QueryStringParameters holds the last value of each query key;
	// MultiValueQueryStringParameters holds every value of each key that
	// was repeated.
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	// Body is the request body: the bytes as text when they are valid UTF-8,
	// else their standard base64 encoding with IsBase64Encoded set.
	Body            string         `json:"body"`
	IsBase64Encoded bool           `json:"isBase64Encoded"`
	RequestContext  RequestContext `json:"requestContext"`
}

// RequestContext describes where a request came from and what it matched.
type RequestContext struct {
	RequestID    string `json:"requestId"`
	EnvID        string `json:"envId"`
	FunctionName string `json:"functionName"`
	// Domain is the request's host, lower-case and without port.
	Domain   string `json:"domain"`
	SourceIP string `json:"sourceIp"`
	// TriggerPath is the path of the route that matched.
	TriggerPath string `json:"triggerPath"`
	// TraceParent is the caller's W3C traceparent header, when it sent a
	// valid one.
	TraceParent string `json:"traceparent,omitempty"`
}

// SetBody stores b as the event body, base64-encoding it when it is not
// valid UTF-8 text.
func (e *Event) SetBody(b []byte) { e.Body, e.IsBase64Encoded = EncodeBody(b) }

// EncodeBody is the one rule for a body in JSON (events, Lambda events,
// recorded results, edited replays): b as text when it is valid UTF-8,
// else base64 and true.
func EncodeBody(b []byte) (body string, isBase64 bool) {
	if utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// BodyBytes returns the body as the client sent it, decoding base64 when
// IsBase64Encoded is set.
func (e *Event) BodyBytes() ([]byte, error) {
	if !e.IsBase64Encoded {
		return []byte(e.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(e.Body)
	if err != nil {
		return nil, fmt.Errorf("event: body flagged base64 but not: %w", err)
	}
	return b, nil
}
