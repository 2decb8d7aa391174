package gateway

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fngate/fngate/gateway/adminapi"
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
//	PUT    /admin/functions/:name  a function's settings ({"maxConcurrency": N})
//	GET    /admin/functions/:name  its code versions, which one each worker runs, load errors
//	PUT    /admin/functions/:name/code      deploy a new version (.tar.gz or .zip)
//	POST   /admin/functions/:name/rollback  serve an earlier version ({"version": N})
//	GET    /admin/invocations  list records (?function=&status=&since=&until=&cursor=&limit=)
//	GET    /admin/invocations/:id          one record with its event
//	POST   /admin/invocations/:id/replay   replay one invocation, its event edited or not (202)
//	POST   /admin/invocations/:id/cancel   cancel one invocation (200 cancelled, 202 cancelling)
//	POST   /admin/invocations/replay       replay every match of a filter (202)
//	GET    /admin/stats        this gateway's request counts by route
//	GET    /admin/stats/gateways  every gateway's, gathered over NATS
//	GET    /admin/openapi.json    the OpenAPI description of all of these (no token)
//
// The handlers are codecs around [Gateway.Admin], the same API as Go
// calls. The operator console at /console/ (package console) is a face on
// it: it calls Gateway.Admin in process, not these handlers.
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
		c.JSON(http.StatusNotFound, adminapi.ErrorBody{Error: adminapi.ErrorDetail{Code: "NOT_FOUND", Message: "no such admin endpoint"}, RequestID: c.GetString("requestID")})
	})
	g.operate(e)
	e.GET(adminapi.OpenAPIPath, serveOpenAPI)
	a := e.Group("/admin", g.authorize)
	// The admin API by resource, then method.
	for path, methods := range map[string]map[string]gin.HandlerFunc{
		"/routes":                   {http.MethodGet: g.listRoutes, http.MethodPost: g.createRoute},
		"/routes/:id":               {http.MethodGet: g.getRoute, http.MethodPut: g.replaceRoute, http.MethodDelete: g.deleteRoute},
		"/functions":                {http.MethodGet: g.listFunctions},
		"/functions/:name":          {http.MethodGet: g.getFunction, http.MethodPut: g.putFunction},
		"/functions/:name/code":     {http.MethodPut: g.putCode},
		"/functions/:name/rollback": {http.MethodPost: g.rollback},
		"/invocations":              {http.MethodGet: g.listInvocations},
		"/invocations/:id":          {http.MethodGet: g.getInvocation},
		"/invocations/:id/replay":   {http.MethodPost: g.replayInvocation},
		"/invocations/:id/cancel":   {http.MethodPost: g.cancelInvocation},
		"/invocations/replay":       {http.MethodPost: g.replayMany},
		"/schedules":                {http.MethodGet: g.listSchedules, http.MethodPost: g.createSchedule},
		"/schedules/:id":            {http.MethodGet: g.getSchedule, http.MethodPut: g.replaceSchedule, http.MethodDelete: g.deleteSchedule},
		"/stats":                    {http.MethodGet: g.stats},
		"/stats/gateways":           {http.MethodGet: g.statsAll},
	} {
		for method, h := range methods {
			a.Handle(method, path, h)
		}
	}
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
// functions. The console is served behind this guard too; its in-process
// calls to Gateway.Admin pass no HTTP guard, so they happen only for a
// request that got through this one and the console's own sign-in, CSRF
// and same-origin checks.
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
		_ = json.NewEncoder(w).Encode(adminapi.ErrorBody{Error: detail, RequestID: id})
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
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" && !archiveTypes[mt] {
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

// adminJSON writes v as the 200 JSON answer, or err through the one error
// mapping: the shape of every admin read.
func (g *Gateway) adminJSON(c *gin.Context, v any, err error) {
	if err != nil {
		g.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (g *Gateway) listRoutes(c *gin.Context) { adminPage(g, c, g.adminAPI().Routes) }

// adminPage answers one page of a list: its query from the URL (a limit
// that is not a number is INVALID_REQUEST), then the page list returns.
func adminPage[Q, P any](g *Gateway, c *gin.Context, list func(context.Context, Q) (P, error)) {
	var q Q
	if err := c.ShouldBindQuery(&q); err != nil {
		g.fail(c, &ParamError{Field: "limit", Message: "must be a number within 0..1000"})
		return
	}
	p, err := list(c.Request.Context(), q)
	g.adminJSON(c, p, err)
}

func (g *Gateway) getRoute(c *gin.Context) {
	r, err := g.adminAPI().Route(c.Request.Context(), c.Param("id"))
	g.adminJSON(c, r, err)
}

// decodeRoute reads a route from the body, rejecting unknown fields.
func decodeRoute(c *gin.Context) (*route.Route, error) {
	r, err := decodeBody[route.Route](c)
	if err != nil {
		var fe *route.FieldError
		if errors.As(err, &fe) {
			return nil, fe
		}
		return nil, fmt.Errorf("%w: body is not a route object: %v", ErrBadRequest, err)
	}
	return r, nil
}

// decodeBody reads a T from an admin request's body (at most
// maxAdminBody bytes), rejecting unknown fields.
func decodeBody[T any](c *gin.Context) (*T, error) {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	var v T
	return &v, dec.Decode(&v)
}

func (g *Gateway) createRoute(c *gin.Context) {
	r, err := decodeRoute(c)
	if err == nil {
		err = g.adminAPI().CreateRoute(c.Request.Context(), r)
	}
	if err != nil {
		g.fail(c, err)
		return
	}
	c.Header("Location", "/admin/routes/"+r.ID)
	c.JSON(http.StatusCreated, r)
}

func (g *Gateway) replaceRoute(c *gin.Context) {
	r, err := decodeRoute(c)
	if err == nil {
		err = g.adminAPI().ReplaceRoute(c.Request.Context(), c.Param("id"), r)
	}
	g.adminJSON(c, r, err)
}

func (g *Gateway) deleteRoute(c *gin.Context) {
	if err := g.adminAPI().DeleteRoute(c.Request.Context(), c.Param("id")); err != nil {
		g.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (g *Gateway) listInvocations(c *gin.Context) {
	if g.invs == nil { // before the query is read, as the API always did
		g.fail(c, ErrAsyncDisabled)
		return
	}
	var f adminapi.Filter
	if err := c.ShouldBindQuery(&f); err != nil {
		g.fail(c, fmt.Errorf("%w: %v", ErrBadRequest, err))
		return
	}
	page, err := g.adminAPI().Invocations(c.Request.Context(), f)
	g.adminJSON(c, page, err)
}

func (g *Gateway) getInvocation(c *gin.Context) {
	inv, err := g.adminAPI().Invocation(c.Request.Context(), c.Param("id"))
	g.adminJSON(c, inv, err)
}

func (g *Gateway) replayInvocation(c *gin.Context) {
	edit, err := decodeEdit(c)
	var acc *adminapi.Accepted
	if err == nil && edit != nil {
		acc, err = g.adminAPI().ReplayEdited(c.Request.Context(), c.Param("id"), edit)
	} else if err == nil {
		acc, err = g.adminAPI().Replay(c.Request.Context(), c.Param("id"))
	}
	if err != nil {
		g.fail(c, err)
		return
	}
	c.Header(HeaderInvocationID, acc.InvocationID)
	c.Header("Location", invocationPath(acc.InvocationID))
	c.JSON(http.StatusAccepted, acc)
}

func (g *Gateway) replayMany(c *gin.Context) {
	if g.invs == nil { // before the body is read, as the API always did
		g.fail(c, ErrAsyncDisabled)
		return
	}
	var f adminapi.Filter
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		g.fail(c, fmt.Errorf("%w: body must be a filter object: %v", ErrBadRequest, err))
		return
	}
	out, err := g.adminAPI().ReplayMany(c.Request.Context(), f)
	if err != nil {
		g.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, out)
}

// Admin returns the admin API as Go calls: what the handlers of
// [Gateway.AdminHandler] serve over HTTP, and the console in process. Its
// errors are [*adminapi.Error], made by the one mapping (classify) that
// answers them over HTTP.
func (g *Gateway) Admin() adminapi.API { return g.adminAPI() }

func (g *Gateway) adminAPI() adminAPI { return adminAPI{g} }

// adminAPI implements adminapi.API.
type adminAPI struct{ g *Gateway }

// apiError is err as the admin API answers it; nil stays nil.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	status, detail := classify(err)
	return &adminapi.Error{Status: status, ErrorDetail: detail, Err: err}
}

// Routes pages through the table this gateway serves, once it serves the
// store's current version (catchUp): a list costs the page, not a read of
// the whole table from Redis.
func (a adminAPI) Routes(ctx context.Context, q adminapi.RouteQuery) (*adminapi.RouteList, error) {
	limit, after, err := pageOf(q.Page)
	if err != nil {
		return nil, apiError(err)
	}
	if err := a.g.catchUp(ctx); err != nil {
		return nil, apiError(err)
	}
	ver := a.g.version.Load()
	tab := a.g.table.Load()
	if tab == nil {
		return nil, apiError(ErrRoutesUnavailable)
	}
	rs, more := tab.Page(route.Query{Domain: route.NormalizeHost(q.Domain), PathPrefix: q.Path, Function: q.Function, After: after, Limit: limit})
	out := &adminapi.RouteList{Routes: rs, Version: ver}
	if more {
		out.NextCursor = encodeCursor(rs[len(rs)-1].Key())
	}
	return out, nil
}

// pageOf validates a list's page: its limit (0 is adminapi.DefaultLimit)
// and the key its cursor holds.
func pageOf(p adminapi.Page) (limit int, after string, err error) {
	if p.Limit < 0 || p.Limit > adminapi.MaxLimit {
		return 0, "", &ParamError{Field: "limit", Message: fmt.Sprintf("must be within 0..%d", adminapi.MaxLimit)}
	}
	after, err = decodeCursor(p.Cursor)
	return cmp.Or(p.Limit, adminapi.DefaultLimit), after, err
}

// A list's cursor is the sort key of the last item of the page before,
// in base64 so that clients treat it as opaque.
func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", &ParamError{Field: "cursor", Message: "is not a cursor this API returned"}
	}
	return string(b), nil
}

func (a adminAPI) Route(ctx context.Context, id string) (*route.Route, error) {
	r, err := a.g.store.Get(ctx, id)
	return r, apiError(err)
}

func (a adminAPI) CreateRoute(ctx context.Context, r *route.Route) error {
	if err := a.g.store.Create(ctx, r); err != nil {
		return apiError(err)
	}
	a.afterChange(ctx)
	return nil
}

func (a adminAPI) ReplaceRoute(ctx context.Context, id string, r *route.Route) error {
	if err := a.g.store.Replace(ctx, id, r); err != nil {
		return apiError(err)
	}
	a.afterChange(ctx)
	return nil
}

func (a adminAPI) DeleteRoute(ctx context.Context, id string) error {
	if err := a.g.store.Delete(ctx, id); err != nil {
		return apiError(err)
	}
	a.afterChange(ctx)
	return nil
}

// afterChange waits until this gateway serves the change, so a caller of
// the admin API reads its own write here; every gateway applies it as it
// is published.
func (a adminAPI) afterChange(ctx context.Context) {
	if err := a.g.catchUp(ctx); err != nil {
		a.g.log.Warn("reload after admin change failed; the watcher will retry", "err", err)
	}
}

// filter validates in as a record filter.
func filter(in adminapi.Filter) (record.Filter, error) {
	f := record.Filter{Function: in.Function, Status: in.Status, Cursor: in.Cursor, Limit: in.Limit}
	if in.Status != "" && !slices.Contains(record.Statuses, in.Status) {
		return f, &ParamError{Field: "status", Message: fmt.Sprintf("%q is not %s or %s", in.Status, strings.Join(record.Statuses[:len(record.Statuses)-1], ", "), record.Statuses[len(record.Statuses)-1])}
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

func (a adminAPI) Invocations(ctx context.Context, in adminapi.Filter) (*record.Page, error) {
	if a.g.invs == nil {
		return nil, apiError(ErrAsyncDisabled)
	}
	f, err := filter(in)
	if err != nil {
		return nil, apiError(err)
	}
	f.Limit = min(f.Limit, 500)
	page, err := a.g.invs.List(ctx, f)
	return page, apiError(err)
}

func (a adminAPI) Invocation(ctx context.Context, id string) (*adminapi.InvocationDetail, error) {
	if a.g.invs == nil {
		return nil, apiError(ErrAsyncDisabled)
	}
	inv, ev, err := a.g.lookup(ctx, id, true)
	if err != nil {
		return nil, apiError(err)
	}
	return &adminapi.InvocationDetail{Invocation: inv, Event: ev}, nil
}

func (a adminAPI) Replay(ctx context.Context, id string) (*adminapi.Accepted, error) {
	newID, err := a.g.Replay(ctx, id)
	if err != nil {
		return nil, apiError(err)
	}
	return &adminapi.Accepted{InvocationID: newID, Status: record.StatusQueued, ReplayOf: id}, nil
}

func (a adminAPI) ReplayMany(ctx context.Context, in adminapi.Filter) (*adminapi.Replayed, error) {
	if a.g.invs == nil {
		return nil, apiError(ErrAsyncDisabled)
	}
	if in.Status == "" {
		in.Status = record.StatusDead
	}
	f, err := filter(in)
	if err != nil {
		return nil, apiError(err)
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	out := &adminapi.Replayed{Replayed: []adminapi.Accepted{}}
	for remaining := f.Limit; remaining > 0; {
		f.Limit = min(remaining, 500)
		page, err := a.g.invs.List(ctx, f)
		if err != nil {
			return nil, apiError(err)
		}
		for _, inv := range page.Invocations {
			if inv.LastReplay != "" {
				continue // replayed already: its replay is listed in its own right
			}
			id, err := a.g.Replay(ctx, inv.ID)
			if err != nil {
				out.Errors = append(out.Errors, inv.ID+": "+err.Error())
				continue
			}
			out.Replayed = append(out.Replayed, adminapi.Accepted{InvocationID: id, Status: record.StatusQueued, ReplayOf: inv.ID})
		}
		remaining -= len(page.Invocations)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	return out, nil
}

// mountConsole serves the operator console on the admin engine e, behind
// its guards; the console calls the admin API in process (Gateway.Admin).
func (g *Gateway) mountConsole(e *gin.Engine) {
	con, err := console.New(console.Config{API: g.Admin(), Token: g.cfg.AdminToken, PublicURL: g.cfg.PublicURL, MaxUpload: g.cfg.MaxCodeBytes, Logger: g.log})
	if err != nil {
		g.log.Error("console not served", "err", err) // the config was validated: not expected
		return
	}
	h := gin.WrapH(con)
	e.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, console.Prefix) })
	e.Any("/console/*page", h)
}
