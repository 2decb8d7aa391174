package runtime

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	invrecord "github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// TestLambdaFormats runs handlers written for AWS Lambda, unchanged
// (exports.handler, callback and async style), behind routes with
// payloadFormat apigw-v1 and apigw-v2, over real HTTP: path and query,
// repeated headers and query values, cookies both ways, a binary body
// both ways, a plain-object 2.0 response and an error.
func TestLambdaFormats(t *testing.T) {
	t.Parallel()
	fx, _ := startFixtures(t, Config{Logger: gt.Logger(t)}, "lambda-v1", "lambda-v2")
	stack := gt.New(t,
		route.Route{Domain: "*", Path: "/v1", Function: "lambda-v1", PayloadFormat: route.FormatAPIGatewayV1},
		route.Route{Domain: "*", Path: "/v2", Function: "lambda-v2", PayloadFormat: route.FormatAPIGatewayV2},
	)
	stack.Worker(worker.Config{Concurrency: fx.Concurrency()}, map[string]sdk.Handler{"lambda-v1": fx.Handler("lambda-v1"), "lambda-v2": fx.Handler("lambda-v2")})
	gw := stack.Gateway(gateway.Config{})
	h := http.Header{"X-Tag": {"a", "b"}, "Cookie": {"c1=v1; c2=v2"}, "User-Agent": {"lambda-test/1"}}
	binary := []byte{0xff, 0x00, 0x80, 'a', 0xfe}
	reversed := []byte{0xfe, 'a', 0x80, 0x00, 0xff}

	t.Run("apigw-v1", func(t *testing.T) {
		h := h.Clone()
		h.Set("X-Request-Id", "lambda-v1-req")
		r := gt.Do(t, "POST", gw.URL+"/v1/items?id=1&id=2&tag=x", "", h, []byte("hello"))
		var got struct {
			Resource, Path, HTTPMethod, Tag, Cookie, SourceIP, RequestID, AWSRequestID, FunctionName, Body string
			Tags                                                                                           []string
			Query                                                                                          map[string]string
			MultiQuery                                                                                     map[string][]string
			Remaining                                                                                      int
		}
		decode(t, r, 200, &got)
		want := got
		want.Resource, want.Path, want.HTTPMethod, want.Tag, want.Tags = "/v1", "/v1/items", "POST", "b", []string{"a", "b"}
		want.Query, want.MultiQuery = map[string]string{"id": "2", "tag": "x"}, map[string][]string{"id": {"1", "2"}, "tag": {"x"}}
		want.Cookie, want.SourceIP, want.RequestID, want.AWSRequestID, want.FunctionName, want.Body = "c1=v1; c2=v2", "127.0.0.1", "lambda-v1-req", "lambda-v1-req", "lambda-v1", "hello"
		if !reflect.DeepEqual(got, want) || got.Remaining <= 0 {
			t.Fatalf("event as the handler saw it:\n got %+v\nwant %+v", got, want)
		}
		if c := r.Header.Values("Set-Cookie"); !reflect.DeepEqual(c, []string{"a=1; Path=/", "b=2; Path=/"}) {
			t.Fatalf("Set-Cookie = %q", c)
		}
		checkLambdaBinaryAndError(t, gw.URL+"/v1", binary, reversed)
	})

	t.Run("apigw-v2", func(t *testing.T) {
		h := h.Clone()
		h.Set("X-Request-Id", "lambda-v2-req")
		r := gt.Do(t, "POST", gw.URL+"/v2/items?id=1&id=2&tag=x", "", h, []byte("hello"))
		var got struct {
			Version, RouteKey, RawPath, RawQueryString, Tag, RequestID, AWSRequestID, FunctionName, Body string
			Cookies                                                                                      []string
			Query                                                                                        map[string]string
			HTTP                                                                                         map[string]string
			TimeEpoch                                                                                    int64
			Remaining                                                                                    int
		}
		decode(t, r, 201, &got)
		want := got
		want.Version, want.RouteKey, want.RawPath, want.RawQueryString, want.Tag = "2.0", "$default", "/v2/items", "id=1&id=2&tag=x", "a,b"
		want.Cookies, want.Query = []string{"c1=v1", "c2=v2"}, map[string]string{"id": "1,2", "tag": "x"}
		want.HTTP = map[string]string{"method": "POST", "path": "/v2/items", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "lambda-test/1"}
		want.RequestID, want.AWSRequestID, want.FunctionName, want.Body = "lambda-v2-req", "lambda-v2-req", "lambda-v2", "hello"
		if !reflect.DeepEqual(got, want) || got.TimeEpoch <= 0 || got.Remaining <= 0 {
			t.Fatalf("event as the handler saw it:\n got %+v\nwant %+v", got, want)
		}
		if c := r.Header.Values("Set-Cookie"); !reflect.DeepEqual(c, []string{"session=abc; Path=/; HttpOnly", "theme=dark"}) {
			t.Fatalf("Set-Cookie = %q", c)
		}
		// A plain object is 200 JSON.
		p := gt.Get(t, gw.URL+"/v2/plain?a=1")
		var plain map[string]string
		decode(t, p, 200, &plain)
		if plain["message"] != "plain" || plain["rawQueryString"] != "a=1" || p.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("plain object = %v %v", plain, p.Header)
		}
		checkLambdaBinaryAndError(t, gw.URL+"/v2", binary, reversed)
	})
}

// decode checks r's status and decodes its JSON body into v.
func decode(t *testing.T, r *gt.Response, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
}

// checkLambdaBinaryAndError posts a binary body to base+"/binary" (the
// handler answers it reversed, base64-encoded) and calls base?fail=1,
// whose handler fails.
func checkLambdaBinaryAndError(t *testing.T, base string, binary, reversed []byte) {
	t.Helper()
	r := gt.Do(t, "POST", base+"/binary", "", http.Header{"Content-Type": {"application/octet-stream"}}, binary)
	if r.Status != 200 || !bytes.Equal(r.Body, reversed) || r.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("binary = %d %v %x", r.Status, r.Header, r.Body)
	}
	r = gt.Get(t, base+"?fail=1")
	if r.Status != 502 || r.ErrorCode() != "FUNCTION_ERROR" || bytes.Contains(r.Body, []byte("declined")) {
		t.Fatalf("error = %d %s", r.Status, r.Body)
	}
}

// TestNodeFallback: a Node function that outlives its caller's wait
// (Prefer: respond-async, wait=1) is answered 202, and its worker records
// the result the function returns later.
func TestNodeFallback(t *testing.T) {
	t.Parallel()
	fx, _ := startFixtures(t, Config{Logger: gt.Logger(t)}, "hang")
	stack := gt.New(t, route.Route{Domain: "*", Path: "/hang", Function: "hang", Timeout: route.Duration(10 * time.Second)})
	stack.Worker(worker.Config{Concurrency: fx.Concurrency()}, map[string]sdk.Handler{"hang": fx.Handler("hang")})
	gw := stack.Gateway(gateway.Config{})
	r := gt.Do(t, "GET", gw.URL+"/hang?wait=2500", "", http.Header{"Prefer": {"respond-async, wait=1"}}, nil)
	id := r.Header.Get("X-Invocation-Id")
	if r.Status != 202 || id == "" || r.Header.Get("Preference-Applied") != "respond-async" {
		t.Fatalf("fallback = %d %s %v", r.Status, r.Body, r.Header)
	}
	testenv.Eventually(t, 15*time.Second, "the record succeeded", func() bool {
		var inv invrecord.PublicInvocation
		decode(t, gt.Get(t, gw.URL+"/invocations/"+id), 200, &inv)
		return inv.Status == invrecord.StatusSucceeded && inv.Result != nil && strings.Contains(inv.Result.Body, `"pid"`)
	})
}
