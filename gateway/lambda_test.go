package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// v2Request is the part of aws-lambda-go's events.APIGatewayV2HTTPRequest
// the Go handler below reads (same JSON names).
type v2Request struct {
	RawPath        string            `json:"rawPath"`
	RawQueryString string            `json:"rawQueryString"`
	Cookies        []string          `json:"cookies"`
	Headers        map[string]string `json:"headers"`
	RequestContext struct {
		HTTP struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
}

// lambdaGo is a Go function written against API Gateway's 2.0 types: a
// worker.RawHandler gets the event's JSON as the gateway built it, and
// answers with the JSON of an events.APIGatewayV2HTTPResponse.
type lambdaGo struct{}

func (lambdaGo) Invoke(context.Context, *event.Event) (any, error) {
	panic("a RawHandler is called through InvokeRaw")
}

func (lambdaGo) InvokeRaw(_ context.Context, data []byte) (any, error) {
	var req v2Request
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, err
	}
	seen, _ := json.Marshal(req)
	resp, _ := json.Marshal(map[string]any{"statusCode": 200, "cookies": []string{"k=v"}, "body": string(seen)})
	return json.RawMessage(resp), nil
}

// A Go handler gets the payload 2.0 event and its response is integrated
// as API Gateway's (cookies become Set-Cookie).
func TestLambdaFormatGoHandler(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/aws", Function: "aws", PayloadFormat: route.FormatAPIGatewayV2})
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, map[string]sdk.Handler{"aws": lambdaGo{}})
	resp := gt.Do(t, "PUT", gw.URL+"/aws/x?a=1&a=2", "", http.Header{"Cookie": {"s=1"}, "X-Tag": {"t"}}, nil)
	var got v2Request
	resp.JSON(t, &got)
	if resp.Status != 200 || got.RawPath != "/aws/x" || got.RawQueryString != "a=1&a=2" || !reflect.DeepEqual(got.Cookies, []string{"s=1"}) ||
		got.Headers["x-tag"] != "t" || got.RequestContext.HTTP.Method != "PUT" || resp.Header.Get("Set-Cookie") != "k=v" {
		t.Fatalf("%d %+v %v", resp.Status, got, resp.Header)
	}
}
