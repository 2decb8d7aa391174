package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/fngate/fngate/shared/route"
)

// maxAdminBody bounds admin request bodies.
const maxAdminBody = 1 << 20

// AdminHandler returns the admin API handler:
//
//	GET    /admin/routes       list routes
//	POST   /admin/routes       create a route (409 if its domain and path exist)
//	GET    /admin/routes/:id   one route
//	PUT    /admin/routes/:id   replace a route (its domain and path may change)
//	DELETE /admin/routes/:id   delete a route
//
// Every call needs "Authorization: Bearer <FNGATE_ADMIN_TOKEN>" when a token
// is set.
func (g *Gateway) AdminHandler() http.Handler {
	e := gin.New()
	e.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, p any) {
		writeError(c, g.log, c.GetString("requestID"), fmt.Errorf("admin panic: %v", p))
	}))
	e.Use(func(c *gin.Context) {
		id := requestID(c.Request)
		c.Set("requestID", id)
		c.Header(HeaderRequestID, id)
	})
	e.NoRoute(func(c *gin.Context) {
		c.JSON(http.StatusNotFound, apiError{Error: errorDetail{Code: "NOT_FOUND", Message: "no such admin endpoint"}, RequestID: c.GetString("requestID")})
	})
	a := e.Group("/admin", g.authorize)
	a.GET("/routes", g.listRoutes)
	a.POST("/routes", g.createRoute)
	a.GET("/routes/:id", g.getRoute)
	a.PUT("/routes/:id", g.replaceRoute)
	a.DELETE("/routes/:id", g.deleteRoute)
	return e
}

func (g *Gateway) authorize(c *gin.Context) {
	if g.cfg.AdminToken == "" {
		return
	}
	tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(g.cfg.AdminToken)) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="fngate-admin"`)
		g.fail(c, ErrUnauthorized)
		c.Abort()
	}
}

func (g *Gateway) fail(c *gin.Context, err error) {
	writeError(c, g.log, c.GetString("requestID"), err)
}

type routeList struct {
	Routes  []route.Route `json:"routes"`
	Version int64         `json:"version"`
}

func (g *Gateway) listRoutes(c *gin.Context) {
	rs, ver, err := g.store.Snapshot(c.Request.Context())
	if err != nil {
		g.fail(c, err)
		return
	}
	slices.SortFunc(rs, func(a, b route.Route) int {
		return strings.Compare(a.Domain+"\x00"+a.Path, b.Domain+"\x00"+b.Path)
	})
	c.JSON(http.StatusOK, routeList{Routes: rs, Version: ver})
}

func (g *Gateway) getRoute(c *gin.Context) {
	r, err := g.store.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		g.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// decodeRoute reads a route from the body, rejecting unknown fields.
func decodeRoute(c *gin.Context) (*route.Route, error) {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	var r route.Route
	if err := dec.Decode(&r); err != nil {
		var fe *route.FieldError
		if errors.As(err, &fe) {
			return nil, fe
		}
		return nil, fmt.Errorf("%w: body is not a route object: %v", ErrBadRequest, err)
	}
	return &r, nil
}

func (g *Gateway) createRoute(c *gin.Context) {
	r, err := decodeRoute(c)
	if err == nil {
		err = g.store.Create(c.Request.Context(), r)
	}
	if err != nil {
		g.fail(c, err)
		return
	}
	g.afterChange(c)
	c.Header("Location", "/admin/routes/"+r.ID)
	c.JSON(http.StatusCreated, r)
}

func (g *Gateway) replaceRoute(c *gin.Context) {
	r, err := decodeRoute(c)
	if err == nil {
		err = g.store.Replace(c.Request.Context(), c.Param("id"), r)
	}
	if err != nil {
		g.fail(c, err)
		return
	}
	g.afterChange(c)
	c.JSON(http.StatusOK, r)
}

func (g *Gateway) deleteRoute(c *gin.Context) {
	if err := g.store.Delete(c.Request.Context(), c.Param("id")); err != nil {
		g.fail(c, err)
		return
	}
	g.afterChange(c)
	c.Status(http.StatusNoContent)
}

// afterChange reloads this gateway's table at once, so a caller of the admin
// API reads its own write here; other gateways follow on notification.
func (g *Gateway) afterChange(c *gin.Context) {
	if err := g.SyncRoutes(c.Request.Context()); err != nil {
		g.log.Warn("reload after admin change failed; the watcher will retry", "err", err)
	}
}
