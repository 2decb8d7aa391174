package console_test

import (
	"bytes"
	"net/http"
	"regexp"
	"testing"

	"github.com/fngate/fngate/gateway"
)

// TestOpenAPILinked: every console page links the admin API's OpenAPI
// document, and the link works in a browser that is signed in to the
// console but holds no bearer token.
func TestOpenAPILinked(t *testing.T) {
	s := newStack(t)
	c := newClient(t, s.console)
	c.signIn()
	status, _, page := c.do("GET", "/console/routes", nil, nil)
	m := regexp.MustCompile(`<a href="([^"]*openapi[^"]*)"`).FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		t.Fatalf("routes page: %d, OpenAPI link found: %v", status, m != nil)
	}
	status, h, doc := c.do("GET", m[1], nil, nil)
	if status != http.StatusOK || h.Get("Content-Type") != "application/json" || !bytes.Equal([]byte(doc), gateway.OpenAPI()) {
		t.Fatalf("GET %s: %d %s, the document served: %v", m[1], status, h.Get("Content-Type"), bytes.Equal([]byte(doc), gateway.OpenAPI()))
	}
}
