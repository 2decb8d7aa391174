package gateway_test

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/gateway/adminapi"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
)

// openAPIDoc is the gateway's OpenAPI document, loaded and validated.
func openAPIDoc(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(gateway.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("not a valid OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		t.Fatalf("openapi: %s, want 3.1", doc.OpenAPI)
	}
	return doc
}

// ginParam is a gin path parameter (":id"); OpenAPI writes "{id}".
var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// routesOf lists the "METHOD /path" pairs a gin engine registers.
func routesOf(t *testing.T, h http.Handler) []string {
	t.Helper()
	e, ok := h.(interface{ Routes() gin.RoutesInfo })
	if !ok {
		t.Fatalf("%T is not a gin engine", h)
	}
	var out []string
	for _, r := range e.Routes() {
		out = append(out, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	return out
}

// TestOpenAPICoversRoutes holds the document to the code both ways:
// every route the admin handler registers is described, and every
// operation described is registered, on the admin handler or (GET
// /invocations/{id}) the public one. The console is left out: it is a
// browser UI, not part of the API.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	var described []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, method+" "+path)
		}
	}
	s := gt.New(t)
	gw := s.Gateway(gateway.Config{AdminToken: "openapi-test-token"}) // with a token AdminHandler is the bare engine
	var registered []string
	for _, r := range routesOf(t, gw.AdminHandler()) {
		if !strings.HasPrefix(strings.Fields(r)[1], "/console") {
			registered = append(registered, r)
		}
	}
	public := routesOf(t, gw.Handler())
	// The public handler registers GET /invocations/{id} and every other
	// method on it (to answer them 405); the document describes GET.
	for _, op := range described {
		if !slices.Contains(registered, op) && !(strings.HasPrefix(strings.Fields(op)[1], route.ReservedPath+"/") && slices.Contains(public, op)) {
			t.Errorf("the document describes %s, which no handler registers", op)
		}
	}
	for _, r := range registered {
		if !slices.Contains(described, r) {
			t.Errorf("the admin handler registers %s, which the document does not describe", r)
		}
	}
	if want := "GET " + route.ReservedPath + "/{id}"; !slices.Contains(described, want) {
		t.Errorf("the document does not describe the public %s", want)
	}
}

// TestOpenAPIServed: the admin listener serves the document without the
// token (see serveOpenAPI for why) while the API itself still needs it.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	s := gt.New(t)
	gw := s.Gateway(gateway.Config{AdminToken: "openapi-test-token"})
	resp := gt.Get(t, gw.AdminURL+adminapi.OpenAPIPath)
	if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || !bytes.Equal(resp.Body, gateway.OpenAPI()) {
		t.Fatalf("GET %s = %d %s; the document: %v", adminapi.OpenAPIPath, resp.Status, resp.Header.Get("Content-Type"), bytes.Equal(resp.Body, gateway.OpenAPI()))
	}
	assertError(t, gt.Get(t, gw.AdminURL+"/admin/routes"), 401, "UNAUTHORIZED")
}

// TestContractCheckCatches: the check every admin call of the tests goes
// through (gatewaytest.Client) refuses what breaks the document: a body of
// the wrong shape, an error body without its code, an undocumented status,
// and a request the document rejects that was accepted anyway.
func TestContractCheckCatches(t *testing.T) {
	t.Parallel()
	openAPIDoc(t)
	get, _ := http.NewRequestWithContext(context.Background(), "GET", "http://127.0.0.1:1/admin/routes", nil)
	post, _ := http.NewRequestWithContext(context.Background(), "POST", "http://127.0.0.1:1/admin/routes", nil)
	post.Header.Set("Content-Type", "application/json")
	js := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for _, tc := range []struct {
		name    string
		req     *http.Request
		reqBody string
		status  int
		body    string
		ok      bool
	}{
		{"a valid listing", get, "", 200, `{"routes":[{"id":"ab","domain":"*","path":"/a","function":"f","timeout":"15s"}],"version":3}`, true},
		{"a valid error", get, "", 401, `{"error":{"code":"UNAUTHORIZED","message":"no"},"requestId":"r1"}`, true},
		{"routes not a list", get, "", 200, `{"routes":5,"version":3}`, false},
		{"a route with an unknown field", get, "", 200, `{"routes":[{"domain":"*","path":"/a","function":"f","colour":"red"}],"version":3}`, false},
		{"an error without its code", get, "", 401, `{"error":{"message":"no"},"requestId":"r1"}`, false},
		{"a created route", post, `{"domain":"*","path":"/a","function":"f"}`, 201, `{"id":"ab","domain":"*","path":"/a","function":"f","timeout":"15s"}`, true},
		{"an undocumented status", post, `{"domain":"*","path":"/a","function":"f"}`, 200, `{"id":"ab","domain":"*","path":"/a","function":"f","timeout":"15s"}`, false},
		{"an invalid request accepted", post, `{"domain":"*","path":"/a"}`, 201, `{"id":"ab","domain":"*","path":"/a","function":"f","timeout":"15s"}`, false},
		{"an invalid request refused", post, `{"domain":"*","path":"/a"}`, 400, `{"error":{"code":"INVALID_ROUTE","message":"m","field":"function"},"requestId":"r1"}`, true},
	} {
		err := gt.CheckContract(tc.req, []byte(tc.reqBody), tc.status, js, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: CheckContract = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
