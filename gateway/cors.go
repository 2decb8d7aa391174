package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fngate/fngate/shared/route"
)

// ErrCORSOrigin reports a preflight from an origin the route does not allow.
var ErrCORSOrigin = errors.New("this origin may not call the route")

// cors applies the route's CORS policy. A preflight (OPTIONS with Origin
// and Access-Control-Request-Method) is answered here and never reaches the
// function: it returns the answer and done. On other requests from an
// allowed origin it adds the CORS response headers.
func (g *Gateway) cors(c *gin.Context, rt *route.Route) (_ response, done bool) {
	policy := rt.CORS
	r := c.Request
	origin := r.Header.Get("Origin")
	if policy == nil || origin == "" {
		return response{}, false
	}
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	h := c.Writer.Header()
	h.Add("Vary", "Origin")
	if !policy.AllowsOrigin(origin) {
		if preflight {
			return failed(ErrCORSOrigin), true
		}
		return response{}, false // the browser withholds the answer without our headers
	}
	allow := origin
	if !policy.AllowCredentials && len(policy.AllowOrigins) == 1 && policy.AllowOrigins[0] == "*" {
		allow = "*"
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if policy.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if !preflight {
		if len(policy.ExposeHeaders) > 0 {
			h.Set("Access-Control-Expose-Headers", strings.Join(policy.ExposeHeaders, ", "))
		}
		return response{}, false
	}
	methods := policy.AllowMethods
	if len(methods) == 0 {
		methods = rt.Methods
	}
	if len(methods) == 0 {
		methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	if len(policy.AllowHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(policy.AllowHeaders, ", "))
	} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	if policy.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(time.Duration(policy.MaxAge)/time.Second)))
	}
	return response{status: http.StatusNoContent}, true
}
