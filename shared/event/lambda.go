package event

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fngate/fngate/shared/route"
)

// Event formats a route can give its function (route.PayloadFormat; the
// route package owns the names): the CloudBase event of [AppendRequest],
// or the events of Amazon API Gateway's Lambda proxy integrations, so
// that functions written for AWS Lambda run unchanged. Field names follow
// aws-lambda-go's events package (APIGatewayProxyRequest,
// APIGatewayV2HTTPRequest).
const (
	// FormatAPIGatewayV1 is REST API proxy integration, payload 1.0.
	FormatAPIGatewayV1 = route.FormatAPIGatewayV1
	// FormatAPIGatewayV2 is HTTP API (and Function URL), payload 2.0.
	FormatAPIGatewayV2 = route.FormatAPIGatewayV2
)

// Append appends the event of r in r.Format to dst: [AppendRequest] for
// the CloudBase format (""), else a Lambda proxy event. The Lambda
// formats are built with encoding/json: they are off the hot path.
func Append(dst []byte, r *Request) []byte {
	var v any
	now := time.Now().UTC()
	switch r.Format {
	case FormatAPIGatewayV1:
		v = apigwV1(r, now)
	case FormatAPIGatewayV2:
		v = apigwV2(r, now)
	default:
		return AppendRequest(dst, r)
	}
	b, _ := json.Marshal(v)
	return append(dst, b...)
}

// lambdaTime is the layout of requestTime (1.0) and time (2.0).
const lambdaTime = "02/Jan/2006:15:04:05 -0700"

type v1Identity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// lambdaContext is what both formats' requestContext carry: the API
// (fngate's environment id), the domain, the request id and the stage
// ("$default"); the account is empty.
type lambdaContext struct {
	AccountID  string `json:"accountId"`
	APIID      string `json:"apiId"`
	DomainName string `json:"domainName"`
	RequestID  string `json:"requestId"`
	Stage      string `json:"stage"`
}

func newLambdaContext(r *Request) lambdaContext {
	return lambdaContext{APIID: r.Context.EnvID, DomainName: r.Context.Domain, RequestID: r.Context.RequestID, Stage: "$default"}
}

type v1Context struct {
	lambdaContext
	HTTPMethod       string     `json:"httpMethod"`
	Identity         v1Identity `json:"identity"`
	Path             string     `json:"path"`
	Protocol         string     `json:"protocol"`
	RequestTime      string     `json:"requestTime"`
	RequestTimeEpoch int64      `json:"requestTimeEpoch"`
	ResourcePath     string     `json:"resourcePath"`
}

// apigwV1 is the payload 1.0 event (events.APIGatewayProxyRequest):
// headers and query parameters both single-valued (the last value) and
// multi-valued (all of them), header names as sent.
func apigwV1(r *Request, now time.Time) any {
	headers, multiHeaders := map[string]string{}, map[string][]string{}
	for k, vs := range r.Header {
		if len(vs) > 0 {
			headers[k], multiHeaders[k] = vs[len(vs)-1], vs
		}
	}
	if _, ok := r.Header["Host"]; !ok && r.Host != "" {
		headers["Host"], multiHeaders["Host"] = r.Host, []string{r.Host}
	}
	var query map[string]string
	var multiQuery map[string][]string
	if q, _ := url.ParseQuery(r.RawQuery); len(q) > 0 {
		query, multiQuery = make(map[string]string, len(q)), q
		for k, vs := range q {
			query[k] = vs[len(vs)-1]
		}
	}
	body, b64 := EncodeBody(r.Body)
	return struct {
		Resource              string              `json:"resource"`
		Path                  string              `json:"path"`
		HTTPMethod            string              `json:"httpMethod"`
		Headers               map[string]string   `json:"headers"`
		MultiValueHeaders     map[string][]string `json:"multiValueHeaders"`
		QueryStringParameters map[string]string   `json:"queryStringParameters"`
		MultiValueQuery       map[string][]string `json:"multiValueQueryStringParameters"`
		PathParameters        map[string]string   `json:"pathParameters"`
		StageVariables        map[string]string   `json:"stageVariables"`
		RequestContext        v1Context           `json:"requestContext"`
		Body                  *string             `json:"body"`
		IsBase64Encoded       bool                `json:"isBase64Encoded"`
	}{
		Resource: r.Context.TriggerPath, Path: r.Path, HTTPMethod: r.Method,
		Headers: headers, MultiValueHeaders: multiHeaders, QueryStringParameters: query, MultiValueQuery: multiQuery,
		RequestContext: v1Context{
			lambdaContext: newLambdaContext(r), HTTPMethod: r.Method,
			Identity: v1Identity{SourceIP: r.Context.SourceIP, UserAgent: r.Header.Get("User-Agent")},
			Path:     r.Path, Protocol: r.Proto,
			RequestTime: now.Format(lambdaTime), RequestTimeEpoch: now.UnixMilli(),
			ResourcePath: r.Context.TriggerPath,
		},
		Body: nullable(body, len(r.Body) > 0), IsBase64Encoded: b64,
	}
}

func nullable(s string, ok bool) *string {
	if !ok {
		return nil
	}
	return &s
}

type v2HTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

type v2Context struct {
	lambdaContext
	DomainPrefix string `json:"domainPrefix"`
	HTTP         v2HTTP `json:"http"`
	RouteKey     string `json:"routeKey"`
	Time         string `json:"time"`
	TimeEpoch    int64  `json:"timeEpoch"`
}

// apigwV2 is the payload 2.0 event (events.APIGatewayV2HTTPRequest):
// header names lower-cased and repeated values comma-joined, as are
// repeated query values; the Cookie headers split into cookies.
func apigwV2(r *Request, now time.Time) any {
	headers := make(map[string]string, len(r.Header)+1)
	var cookies []string
	for k, vs := range r.Header {
		if k == "Cookie" {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if _, ok := headers["host"]; !ok && r.Host != "" {
		headers["host"] = r.Host
	}
	var query map[string]string
	if q, _ := url.ParseQuery(r.RawQuery); len(q) > 0 {
		query = make(map[string]string, len(q))
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	prefix, _, _ := strings.Cut(r.Context.Domain, ".")
	body, b64 := EncodeBody(r.Body)
	return struct {
		Version               string            `json:"version"`
		RouteKey              string            `json:"routeKey"`
		RawPath               string            `json:"rawPath"`
		RawQueryString        string            `json:"rawQueryString"`
		Cookies               []string          `json:"cookies,omitempty"`
		Headers               map[string]string `json:"headers"`
		QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
		RequestContext        v2Context         `json:"requestContext"`
		Body                  string            `json:"body,omitempty"`
		IsBase64Encoded       bool              `json:"isBase64Encoded"`
	}{
		Version: "2.0", RouteKey: "$default", RawPath: r.Path, RawQueryString: r.RawQuery, Cookies: cookies,
		Headers: headers, QueryStringParameters: query,
		RequestContext: v2Context{
			lambdaContext: newLambdaContext(r), DomainPrefix: prefix,
			HTTP:     v2HTTP{Method: r.Method, Path: r.Path, Protocol: r.Proto, SourceIP: r.Context.SourceIP, UserAgent: r.Header.Get("User-Agent")},
			RouteKey: "$default", Time: now.Format(lambdaTime), TimeEpoch: now.UnixMilli(),
		},
		Body: body, IsBase64Encoded: b64,
	}
}

// setCookies adds the cookies of a payload 2.0 response as Set-Cookie
// headers.
func setCookies(h http.Header, cookies []string) {
	for _, c := range cookies {
		h.Add("Set-Cookie", c)
	}
}
