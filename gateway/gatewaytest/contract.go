package gatewaytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/shared/route"
)

// Every exchange the tests make through Client with a gateway that Serve
// started is held to the gateway's OpenAPI document (gateway.OpenAPI):
// on its admin listener, every call to a path and method the document
// describes; on its public listener, GET /invocations/{id}. The response
// must match the document, and a request the document rejects must not be
// accepted (2xx). A mismatch is Client's error, so Do fails the test that
// made the call.

// listeners maps the host:port of each listener Serve runs to whether it
// is the admin one, so that the contract is checked on those alone.
var listeners sync.Map // string → bool (admin)

// loadContract parses the document once, without its servers: the tests'
// gateways listen on other ports than the documented defaults.
var loadContract = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(gateway.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("gateway.OpenAPI: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("gateway.OpenAPI is not a valid OpenAPI document: %w", err)
	}
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
	}
	return legacy.NewRouter(doc)
})

var contractOptions = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc, // the gateway's to check, not the document's
	IncludeResponseStatus: true,
	MultiError:            true,
}

// CheckContract holds one finished exchange with a gateway to its OpenAPI
// document: req (whose body was reqBody) and the response status, header
// and body. It returns nil for a path and method the document does not
// describe (the tests probe such on purpose).
func CheckContract(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	router, err := loadContract()
	if err != nil {
		return err
	}
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	switch ct := req.Header.Get("Content-Type"); {
	case len(reqBody) > 0 && (strings.HasSuffix(ct, "gzip") || strings.HasSuffix(ct, "zip") || ct == "application/octet-stream"):
		// A code archive (PUT /admin/functions/{name}/code): held to the
		// document's binary body, which kin-openapi decodes as
		// application/octet-stream only.
		vreq.Header.Set("Content-Type", "application/octet-stream")
	case len(reqBody) > 0:
		// With a token set the gateway reads every admin body as JSON,
		// whatever its declared type (a tokenless listener refuses other
		// types with 415): the body is held to the JSON schema.
		vreq.Header.Set("Content-Type", "application/json")
	}
	rt, params, err := router.FindRoute(vreq)
	if err != nil {
		return nil
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: rt, Options: contractOptions}
	what := req.Method + " " + req.URL.RequestURI()
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && status/100 == 2 {
		return fmt.Errorf("OpenAPI contract: %s: the gateway answered %d to a request the document rejects: %w", what, status, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: contractOptions}
	if err := openapi3filter.ValidateResponse(context.Background(), out.SetBodyBytes(body)); err != nil {
		return fmt.Errorf("OpenAPI contract: %s: the response (%d %s) does not match the document: %w", what, status, body, err)
	}
	return nil
}

// contractTransport is Client's transport: it checks the exchanges with
// the listeners Serve runs (see above).
type contractTransport struct{ next http.RoundTripper }

func (t contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	admin, ours := listeners.Load(req.URL.Host)
	if !ours || !admin.(bool) && !strings.HasPrefix(req.URL.Path, route.ReservedPath+"/") {
		return t.next.RoundTrip(req)
	}
	var reqBody []byte
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		reqBody, err = io.ReadAll(rc)
		if err != nil {
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := CheckContract(req, reqBody, resp.StatusCode, resp.Header, body); err != nil {
		return nil, err
	}
	return resp, nil
}
