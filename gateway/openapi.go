package gateway

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPI is the OpenAPI 3.1 description of the admin API and the public
// GET /invocations/{id}. Tests hold it to the code both ways: every route
// the handlers register is in it and every path in it is registered, and
// every admin call the tests make is validated against it
// (gatewaytest.Client).
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI document (JSON) that the admin listener
// serves at [adminapi.OpenAPIPath]. The caller must not modify it.
func OpenAPI() []byte { return openAPI }

// serveOpenAPI needs no token, as /healthz does: the document is the same
// for every gateway of this build and says nothing of this one, and the
// console links it for browsers that hold a console session but not the
// bearer token. A tokenless listener still answers only loopback hosts.
func serveOpenAPI(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", openAPI)
}
