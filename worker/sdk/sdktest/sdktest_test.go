package sdktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
	"github.com/fngate/fngate/worker/sdk/sdktest"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

// echo answers with the event it got.
var echo = sdk.HandlerFunc(func(_ context.Context, ev *sdk.Event) (any, error) { return ev, nil })

// TestSameEventAsTheGateway: for the same request, the handler gets the
// same event from Invoke as from a real gateway and worker over HTTP.
func TestSameEventAsTheGateway(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/echo", Function: "echo"})
	s.Worker(worker.Config{}, map[string]sdk.Handler{"echo": echo})
	gw := s.Gateway(gateway.Config{})

	header := http.Header{"X-Multi": {"a", "b"}, "Content-Type": {"application/octet-stream"}, "X-Request-Id": {"req-42"}}
	body := []byte{0xff, 0x00, 'h', 'i'} // not UTF-8: base64 in the event
	r := gt.Do(t, "PUT", gw.URL+"/echo/sub?name=x&tag=a&tag=b", "Example.COM:9999", header, body)
	if r.Status != 200 {
		t.Fatalf("gateway: %d %s", r.Status, r.Body)
	}
	var viaGateway event.Event
	r.JSON(t, &viaGateway)

	res, err := sdktest.Invoke(t.Context(), echo, sdktest.Request{
		Method: "PUT", Path: "/echo/sub", Query: url.Values{"name": {"x"}, "tag": {"a", "b"}},
		Headers: header, Body: body, Host: "Example.COM:9999",
		Function: "echo", RequestID: "req-42", TriggerPath: "/echo",
	})
	if err != nil {
		t.Fatal(err)
	}
	var viaTest event.Event
	if err := res.JSON(&viaTest); err != nil {
		t.Fatal(err)
	}
	// The HTTP client adds headers of its own (User-Agent, Content-Length,
	// Accept-Encoding); the ones the test sent must match.
	for _, k := range []string{"x-multi", "content-type", "x-request-id", "host"} {
		if viaGateway.Headers[k] != viaTest.Headers[k] || !reflect.DeepEqual(viaGateway.MultiValueHeaders[k], viaTest.MultiValueHeaders[k]) {
			t.Errorf("header %s: gateway %q %q, sdktest %q %q", k, viaGateway.Headers[k], viaGateway.MultiValueHeaders[k], viaTest.Headers[k], viaTest.MultiValueHeaders[k])
		}
	}
	viaGateway.Headers, viaGateway.MultiValueHeaders = nil, nil
	viaTest.Headers, viaTest.MultiValueHeaders = nil, nil
	if !reflect.DeepEqual(viaGateway, viaTest) {
		t.Errorf("events differ:\ngateway   %+v\nsdktest %+v", viaGateway, viaTest)
	}
	if !viaTest.IsBase64Encoded {
		t.Error("binary body not base64")
	}
}

// raw is a handler that takes the event JSON, as the Node.js runtime's.
type raw struct{ got []byte }

func (h *raw) Invoke(context.Context, *sdk.Event) (any, error) {
	return nil, errors.New("Invoke called on a raw handler")
}

func (h *raw) InvokeRaw(_ context.Context, ev []byte) (any, error) {
	h.got = ev
	// A raw result follows the CloudBase rule: this is an envelope.
	return json.RawMessage(`{"statusCode":201,"body":"made"}`), nil
}

func TestRawHandler(t *testing.T) {
	t.Parallel()
	h := &raw{}
	res, err := sdktest.Invoke(t.Context(), h, sdktest.Request{Path: "/p"})
	if err != nil || res.Status != 201 || string(res.Body) != "made" {
		t.Fatalf("= %+v %v", res, err)
	}
	ev, err := event.Decode(h.got)
	if err != nil || ev.Path != "/p" || ev.HTTPMethod != "GET" || ev.RequestContext.FunctionName != "sdktest" {
		t.Fatalf("raw event %s: %v", h.got, err)
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	var info sdk.Info
	var deadline time.Time
	h := sdk.HandlerFunc(func(ctx context.Context, _ *sdk.Event) (any, error) {
		info, _ = sdk.InfoFrom(ctx)
		deadline, _ = ctx.Deadline()
		return nil, nil
	})
	start := time.Now()
	res, err := sdktest.Invoke(t.Context(), h, sdktest.Request{Function: "f", RequestID: "r", TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", Timeout: time.Minute})
	if err != nil || res.Status != 200 || len(res.Body) != 0 {
		t.Fatalf("= %+v %v", res, err)
	}
	if info != (sdk.Info{RequestID: "r", FunctionName: "f", TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}) {
		t.Errorf("info = %+v", info)
	}
	if deadline.Before(start.Add(time.Minute)) || deadline.After(time.Now().Add(time.Minute)) {
		t.Errorf("deadline %s, want a minute from the call", deadline.Sub(start))
	}
	// Without a timeout the handler gets a route's default.
	_, _ = sdktest.Invoke(t.Context(), h, sdktest.Request{})
	if d := time.Until(deadline); d <= 0 || d > route.DefaultTimeout {
		t.Errorf("default deadline in %s, want within %s", d, route.DefaultTimeout)
	}
}

// TestInvalidResponse: a result that is no HTTP response fails as in
// production.
func TestInvalidResponse(t *testing.T) {
	t.Parallel()
	h := sdk.HandlerFunc(func(context.Context, *sdk.Event) (any, error) {
		return &sdk.Response{StatusCode: 99}, nil
	})
	_, err := sdktest.Invoke(t.Context(), h, sdktest.Request{})
	var fe *event.Error
	if !errors.As(err, &fe) || fe.Code != event.CodeInvalidResponse {
		t.Fatalf("err = %v", err)
	}
	res := &sdktest.Response{Body: []byte("x")}
	if err := res.JSON(new(any)); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("JSON of a text body: %v", err)
	}
}
