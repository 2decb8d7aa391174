package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fngate/fngate/gateway/console"
	"github.com/fngate/fngate/gateway/internal/origin"
	"github.com/fngate/fngate/shared/record"
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
//	GET    /admin/functions    functions with their live workers and load
//	GET    /admin/invocations  list records (?function=&status=&since=&until=&cursor=&limit=)
//	GET    /admin/invocations/:id          one record with its event
//	POST   /admin/invocations/:id/replay   replay one invocation (202)
//	POST   /admin/invocations/replay       replay every match of a filter (202)
//	GET    /admin/stats        this gateway's request counts by route
//	GET    /admin/stats/gateways  every gateway's, gathered over NATS
//
// The operator console at /console/ (package console) is a face on these
// endpoints: it calls this handler in process.
//
// Every call needs "Authorization: Bearer <FNGATE_ADMIN_TOKEN>" when a token
// is set. /healthz, /readyz and /metrics beside them need none.
//
// Without a token (a loopback listener only), what stands in for it is
// refusing what a web page in the operator's browser could send: every
// request whose Host is not loopback (see loopbackOnly), and changes from
// another site or not sent as JSON (see tokenlessChange).
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
	g.operate(e)
	a := e.Group("/admin", g.authorize)
	a.GET("/routes", g.listRoutes)
	a.POST("/routes", g.createRoute)
	a.GET("/routes/:id", g.getRoute)
	a.PUT("/routes/:id", g.replaceRoute)
	a.DELETE("/routes/:id", g.deleteRoute)
	a.GET("/functions", g.listFunctions)
	a.GET("/invocations", g.listInvocations)
	a.GET("/invocations/:id", g.getInvocation)
	a.POST("/invocations/:id/replay", g.replayInvocation)
	a.POST("/invocations/replay", g.replayMany)
	a.GET("/stats", g.stats)
	a.GET("/stats/gateways", g.statsAll)
	g.mountConsole(e)
	if g.cfg.AdminToken != "" {
		return e
	}
	return g.loopbackOnly(e)
}

// loopbackOnly fronts a tokenless admin listener: a request whose Host is
// not a loopback name or address is refused before anything reads it. The
// listener binds to loopback, but a page that reaches it by DNS rebinding
// (evil.example re-resolved to 127.0.0.1) sends Host: evil.example and
// would otherwise read and change everything here as its own origin.
// Probes and scrapes included: on loopback they send a loopback Host
// (curl http://127.0.0.1:8081/healthz), and /metrics names routes and
// functions. The console calls the engine behind this guard in process.
func (g *Gateway) loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin.LoopbackHost(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		id := requestID(r)
		g.log.Warn("admin: request for another host refused (no admin token: loopback names only)", "request_id", id, "host", r.Host, "path", r.URL.Path)
		status, detail := classify(ErrAdminHost)
		h := w.Header()
		h.Set(HeaderRequestID, id)
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(apiError{Error: detail, RequestID: id})
	})
}

// tokenlessChange refuses, on a tokenless listener, a change that a web
// page could make: one marked as coming from another site, or with a body
// in a type an HTML form can send (urlencoded, multipart, text/plain);
// a page's fetch with application/json needs a CORS preflight that the
// admin API never grants. A change without a body may omit Content-Type:
// forms always send one.
func tokenlessChange(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if !origin.Same(r) {
		return ErrAdminCrossSite
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return ErrAdminContentType
	}
	return nil
}

func (g *Gateway) authorize(c *gin.Context) {
	if g.cfg.AdminToken == "" {
		if err := tokenlessChange(c.Request); err != nil {
			g.fail(c, err)
			c.Abort()
		}
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

// filterFrom reads a record filter from query parameters or a JSON body.
type filterInput struct {
	Function string `json:"function" form:"function"`
	Status   string `json:"status" form:"status"`
	Since    string `json:"since" form:"since"`
	Until    string `json:"until" form:"until"`
	Cursor   string `json:"cursor" form:"cursor"`
	Limit    int    `json:"limit" form:"limit"`
}

func (in filterInput) filter() (record.Filter, error) {
	f := record.Filter{Function: in.Function, Status: in.Status, Cursor: in.Cursor, Limit: in.Limit}
	switch in.Status {
	case "", record.StatusQueued, record.StatusRunning, record.StatusFailed, record.StatusSucceeded, record.StatusDead:
	default:
		return f, &ParamError{Field: "status", Message: fmt.Sprintf("%q is not queued, running, failed, succeeded or dead", in.Status)}
	}
	for _, t := range []struct {
		s   string
		dst *time.Time
		n   string
	}{{in.Since, &f.Since, "since"}, {in.Until, &f.Until, "until"}} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.s)
		if err != nil {
			return f, &ParamError{Field: t.n, Message: "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"}
		}
		*t.dst = v
	}
	if in.Limit < 0 || in.Limit > 1000 {
		return f, &ParamError{Field: "limit", Message: "must be within 0..1000"}
	}
	return f, nil
}

func (g *Gateway) listInvocations(c *gin.Context) {
	if g.invs == nil {
		g.fail(c, ErrAsyncDisabled)
		return
	}
	var in filterInput
	if err := c.ShouldBindQuery(&in); err != nil {
		g.fail(c, fmt.Errorf("%w: %v", ErrBadRequest, err))
		return
	}
	f, err := in.filter()
	if err == nil && f.Limit > 500 {
		f.Limit = 500
	}
	if err != nil {
		g.fail(c, err)
		return
	}
	page, err := g.invs.List(c.Request.Context(), f)
	if err != nil {
		g.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

type invocationDetail struct {
	*record.Invocation
	Event json.RawMessage `json:"event,omitempty"`
}

func (g *Gateway) getInvocation(c *gin.Context) {
	if g.invs == nil {
		g.fail(c, ErrAsyncDisabled)
		return
	}
	inv, err := g.invs.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		g.fail(c, err)
		return
	}
	ev, err := g.invs.Event(c.Request.Context(), inv.ID)
	if err != nil && !errors.Is(err, record.ErrInvocationNotFound) {
		g.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, invocationDetail{Invocation: inv, Event: ev})
}

func (g *Gateway) replayInvocation(c *gin.Context) {
	id, err := g.Replay(c.Request.Context(), c.Param("id"))
	if err != nil {
		g.fail(c, err)
		return
	}
	c.Header(HeaderInvocationID, id)
	c.Header("Location", route.ReservedPath+"/"+id)
	c.JSON(http.StatusAccepted, accepted{InvocationID: id, Status: record.StatusQueued, ReplayOf: c.Param("id")})
}

type replayed struct {
	Replayed []accepted `json:"replayed"`
	Errors   []string   `json:"errors,omitempty"`
}

// replayMany replays every record matching a filter (status defaults to
// dead) that was not replayed before, looking at up to limit records
// (default 100, at most 1000).
func (g *Gateway) replayMany(c *gin.Context) {
	if g.invs == nil {
		g.fail(c, ErrAsyncDisabled)
		return
	}
	var in filterInput
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		g.fail(c, fmt.Errorf("%w: body must be a filter object: %v", ErrBadRequest, err))
		return
	}
	if in.Status == "" {
		in.Status = record.StatusDead
	}
	f, err := in.filter()
	if err != nil {
		g.fail(c, err)
		return
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	ctx := c.Request.Context()
	out := replayed{Replayed: []accepted{}}
	for remaining := f.Limit; remaining > 0; {
		f.Limit = min(remaining, 500)
		page, err := g.invs.List(ctx, f)
		if err != nil {
			g.fail(c, err)
			return
		}
		for _, inv := range page.Invocations {
			if inv.LastReplay != "" {
				continue // replayed already: its replay is listed in its own right
			}
			id, err := g.Replay(ctx, inv.ID)
			if err != nil {
				out.Errors = append(out.Errors, inv.ID+": "+err.Error())
				continue
			}
			out.Replayed = append(out.Replayed, accepted{InvocationID: id, Status: record.StatusQueued, ReplayOf: inv.ID})
		}
		remaining -= len(page.Invocations)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	c.JSON(http.StatusAccepted, out)
}

// mountConsole serves the operator console on the admin engine e; the
// console calls e's admin API in process.
func (g *Gateway) mountConsole(e *gin.Engine) {
	con, err := console.New(console.Config{API: e, Token: g.cfg.AdminToken, PublicURL: g.cfg.PublicURL, Logger: g.log})
	if err != nil {
		g.log.Error("console not served", "err", err) // the config was validated: not expected
		return
	}
	h := gin.WrapH(con)
	e.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, console.Prefix) })
	e.Any("/console/*page", h)
}
