package console

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/route"
)

// routeRow is a route as the HTTP access table shows it.
type routeRow struct {
	route.Route
	URL  string // where callers reach it
	Curl string // a command that calls it through this gateway
}

// methodChoices are the methods the form offers.
var methodChoices = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func (c *Console) rowOf(r route.Route) routeRow {
	base, _ := url.Parse(c.cfg.PublicURL)
	row := routeRow{Route: r, URL: c.cfg.PublicURL + r.Path}
	var args []string
	method := "GET"
	if len(r.Methods) > 0 && !slices.Contains(r.Methods, "GET") {
		method = r.Methods[0]
	}
	if method != "GET" {
		args = append(args, "-X", method)
	}
	if r.Domain != route.DomainDefault && r.Domain != route.DomainAny {
		row.URL = base.Scheme + "://" + r.Domain + r.Path
		args = append(args, "-H", shellQuote("Host: "+r.Domain))
	}
	switch method {
	case "POST", "PUT", "PATCH":
		args = append(args, "-H", shellQuote("Content-Type: application/json"), "-d", shellQuote("{}"))
	}
	args = append(args, shellQuote(c.cfg.PublicURL+r.Path))
	row.Curl = "curl " + strings.Join(args, " ")
	return row
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// routesPerPage is how many associations the HTTP access table shows at once.
const routesPerPage = 50

// routePage is one page of the HTTP access table: read a page at a time
// from the admin API (never the whole table), filtered as it filters.
type routePage struct {
	Rows    []routeRow
	Version int64
	// The filter, as typed: a domain, a trigger path prefix, a function.
	Domain, Path, Function string
	Filtered               bool
	Later                  bool         // not the first page
	First, Next            template.URL // query strings of the first and next pages, if any
}

// routeList shows the associations the filter (?domain=, ?path=,
// ?function=) selects, routesPerPage at a time from ?cursor=.
func (c *Console) routeList(w http.ResponseWriter, r *http.Request, s session) {
	qs := r.URL.Query()
	d := routePage{Domain: strings.TrimSpace(qs.Get("domain")), Path: strings.TrimSpace(qs.Get("path")), Function: strings.TrimSpace(qs.Get("function"))}
	d.Filtered = d.Domain != "" || d.Path != "" || d.Function != ""
	cursor := qs.Get("cursor")
	list, err := c.api.Routes(r.Context(), adminapi.RouteQuery{Domain: d.Domain, Path: d.Path, Function: d.Function, Page: adminapi.Page{Cursor: cursor, Limit: routesPerPage}})
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	d.Version = list.Version
	for _, rt := range list.Routes {
		d.Rows = append(d.Rows, c.rowOf(rt))
	}
	link := func(cursor string) template.URL {
		v := url.Values{}
		for k, f := range map[string]string{"domain": d.Domain, "path": d.Path, "function": d.Function, "cursor": cursor} {
			if f != "" {
				v.Set(k, f)
			}
		}
		return queryURL(v)
	}
	if cursor != "" {
		d.Later, d.First = true, link("")
	}
	if list.NextCursor != "" {
		d.Next = link(list.NextCursor)
	}
	v := c.view(s, "routes", "HTTP access", d)
	v.Notice = notice(r)
	c.render(w, http.StatusOK, "routes", v)
}

// notice is the message of a finished action, named by ?done=.
func notice(r *http.Request) string {
	switch r.URL.Query().Get("done") {
	case "created":
		return "Association created; gateways serve it within a second."
	case "updated":
		return "Association saved; gateways serve the change within a second."
	case "deleted":
		return "Association deleted."
	case "replayed":
		return "Replay queued."
	case "schedule-created":
		return "Schedule created; it fires from now on."
	case "schedule-deleted":
		return "Schedule deleted; it fires no more."
	case "cancelled":
		return "Invocation cancelled: it will not run."
	case "cancelling":
		return "Cancelling: the running attempt is told to stop; no further attempt runs."
	case "capped":
		return "Max concurrency saved; workers apply it within seconds."
	case "deployed":
		return "Version " + r.URL.Query().Get("v") + " stored: the workers serving the function switch to it once it loads (below)."
	case "rolledback":
		return "Version " + r.URL.Query().Get("v") + " is current again: the workers switch to it (below)."
	}
	return ""
}

// routeForm is the New / Edit form.
type routeForm struct {
	ID             string // set when editing
	ResourceType   string
	Function       string
	DomainKind     string // default, custom or any
	CustomDomain   string
	Path           string
	Methods        map[string]bool
	Mode           string
	Timeout        string
	StripPrefix    bool
	RecordFailures bool
	RefuseAsync    bool // allowAsync false
	MaxAttempts    string
	// Options of the synchronous path (#17): a Go duration, and
	// cloudbase ("") or an API Gateway format.
	FallbackAfter, PayloadFormat string
	// StreamIdleTimeout: a Go duration, "" for the default.
	StreamIdleTimeout string
	// Errors by field name; "" is the form as a whole.
	Errors map[string]string
	// Functions are the served functions offered as targets.
	Functions []adminapi.FunctionLoad
	Choices   []string
}

func formOf(rt route.Route) routeForm {
	f := routeForm{ID: rt.ID, ResourceType: "function", Function: rt.Function, Path: rt.Path, Methods: map[string]bool{},
		Mode: rt.Mode, StripPrefix: rt.StripPrefix, RecordFailures: rt.RecordFailures,
		RefuseAsync: !rt.AsyncAllowed(), PayloadFormat: rt.PayloadFormat}
	if rt.FallbackAfter > 0 {
		f.FallbackAfter = rt.FallbackAfter.String()
	}
	if rt.StreamIdleTimeout > 0 {
		f.StreamIdleTimeout = rt.StreamIdleTimeout.String()
	}
	switch rt.Domain {
	case route.DomainDefault:
		f.DomainKind = "default"
	case route.DomainAny:
		f.DomainKind = "any"
	default:
		f.DomainKind, f.CustomDomain = "custom", rt.Domain
	}
	for _, m := range rt.Methods {
		f.Methods[m] = true
	}
	if rt.Timeout > 0 {
		f.Timeout = rt.Timeout.String()
	}
	if rt.Retry != nil && rt.Retry.MaxAttempts > 0 {
		f.MaxAttempts = strconv.Itoa(rt.Retry.MaxAttempts)
	}
	return f
}

func readForm(r *http.Request) routeForm {
	f := routeForm{
		ResourceType:   r.PostFormValue("resourceType"),
		Function:       strings.TrimSpace(r.PostFormValue("function")),
		DomainKind:     r.PostFormValue("domainKind"),
		CustomDomain:   strings.TrimSpace(r.PostFormValue("customDomain")),
		Path:           strings.TrimSpace(r.PostFormValue("path")),
		Methods:        map[string]bool{},
		Mode:           r.PostFormValue("mode"),
		Timeout:        strings.TrimSpace(r.PostFormValue("timeout")),
		StripPrefix:    r.PostFormValue("stripPrefix") != "",
		RecordFailures: r.PostFormValue("recordFailures") != "",
		RefuseAsync:    r.PostFormValue("refuseAsync") != "",
		MaxAttempts:    strings.TrimSpace(r.PostFormValue("maxAttempts")),
		FallbackAfter:  strings.TrimSpace(r.PostFormValue("fallbackAfter")),
		PayloadFormat:  r.PostFormValue("payloadFormat"),

		StreamIdleTimeout: strings.TrimSpace(r.PostFormValue("streamIdleTimeout")),
	}
	for _, m := range r.PostForm["methods"] {
		f.Methods[m] = true
	}
	return f
}

// route is the route the form describes, laid over base (the route being
// edited, or nil) so that fields the form does not show are kept. The API
// validates it.
func (f *routeForm) route(base *route.Route) (*route.Route, bool) {
	f.Errors = map[string]string{}
	if f.ResourceType != "function" {
		f.Errors["resourceType"] = "Choose the resource type: only cloud functions can be associated."
	}
	var rt route.Route
	if base != nil {
		rt = *base
	}
	rt.ID = ""
	switch f.DomainKind {
	case "default":
		rt.Domain = route.DomainDefault
	case "any":
		rt.Domain = route.DomainAny
	case "custom":
		rt.Domain = f.CustomDomain
	default:
		f.Errors["domain"] = "Choose the default domain, a custom domain, or *."
	}
	rt.Path, rt.Function = f.Path, f.Function
	rt.Methods = nil
	for _, m := range methodChoices {
		if f.Methods[m] {
			rt.Methods = append(rt.Methods, m)
		}
	}
	rt.Mode, rt.StripPrefix, rt.RecordFailures = f.Mode, f.StripPrefix, f.RecordFailures
	rt.AllowAsync = nil
	if f.RefuseAsync {
		rt.AllowAsync = new(false)
	}
	f.duration("timeout", f.Timeout, &rt.Timeout)
	f.duration("fallbackAfter", f.FallbackAfter, &rt.FallbackAfter)
	f.duration("streamIdleTimeout", f.StreamIdleTimeout, &rt.StreamIdleTimeout)
	rt.PayloadFormat = f.PayloadFormat
	var retry route.Retry
	if rt.Retry != nil {
		retry = *rt.Retry
	}
	retry.MaxAttempts = 0
	if f.MaxAttempts != "" {
		n, err := strconv.Atoi(f.MaxAttempts)
		if err != nil {
			f.Errors["maxAttempts"] = "Enter a whole number of attempts, or leave it empty for the default."
		}
		retry.MaxAttempts = n
	}
	rt.Retry = nil
	if retry != (route.Retry{}) {
		rt.Retry = &retry
	}
	return &rt, len(f.Errors) == 0
}

// duration reads a duration field's value v into d (zero when empty),
// as the API reads a route's JSON, for the same message.
func (f *routeForm) duration(field, v string, d *route.Duration) {
	*d = 0
	if v == "" {
		return
	}
	quoted, _ := json.Marshal(v)
	if err := d.UnmarshalJSON(quoted); err != nil {
		f.Errors[field] = err.Error()
	}
}

// fieldOf names the form field an admin API error is about.
func fieldOf(ae *adminapi.Error) string {
	switch {
	case ae.Code == "ROUTE_EXISTS":
		return "path"
	case ae.Field == "domain", ae.Field == "path", ae.Field == "function", ae.Field == "methods",
		ae.Field == "mode", ae.Field == "timeout", ae.Field == "fallbackAfter", ae.Field == "payloadFormat",
		ae.Field == "streamIdleTimeout":
		return ae.Field
	case strings.HasPrefix(ae.Field, "retry."):
		return "maxAttempts"
	case ae.Field == "allowAsync": // refused only beside async mode
		return "mode"
	}
	return ""
}

func (c *Console) renderForm(w http.ResponseWriter, r *http.Request, s session, status int, f routeForm) {
	if fl, err := c.api.Functions(r.Context(), adminapi.FunctionQuery{Page: adminapi.Page{Limit: adminapi.MaxLimit}}); err != nil {
		c.log.Warn("console: functions unavailable for the route form", "err", err)
	} else {
		f.Functions = fl.Functions
	}
	f.Choices = methodChoices
	title := "New association"
	if f.ID != "" {
		title = "Edit association"
	}
	c.render(w, status, "route_form", c.view(s, "routes", title, f))
}

func (c *Console) routeNew(w http.ResponseWriter, r *http.Request, s session) {
	c.renderForm(w, r, s, http.StatusOK, routeForm{ResourceType: "function", DomainKind: "default", Methods: map[string]bool{}})
}

func (c *Console) routeEdit(w http.ResponseWriter, r *http.Request, s session) {
	rt, err := c.api.Route(r.Context(), r.PathValue("id"))
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	c.renderForm(w, r, s, http.StatusOK, formOf(*rt))
}

func (c *Console) routeCreate(w http.ResponseWriter, r *http.Request, s session) {
	f := readForm(r)
	c.saveRoute(w, r, s, f, nil, "created", c.api.CreateRoute)
}

func (c *Console) routeUpdate(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	base, err := c.api.Route(r.Context(), id)
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	f := readForm(r)
	f.ID = id
	c.saveRoute(w, r, s, f, base, "updated", func(ctx context.Context, rt *route.Route) error {
		return c.api.ReplaceRoute(ctx, id, rt)
	})
}

// saveRoute saves the route of form f, laid over base, with save; the
// API's errors go beside the fields they name.
func (c *Console) saveRoute(w http.ResponseWriter, r *http.Request, s session, f routeForm, base *route.Route, done string, save func(context.Context, *route.Route) error) {
	rt, ok := f.route(base)
	if ok {
		err := save(r.Context(), rt)
		var ae *adminapi.Error
		switch {
		case err == nil:
			http.Redirect(w, r, "/console/routes?done="+done, http.StatusSeeOther)
			return
		case errors.As(err, &ae) && ae.Status < 500:
			f.Errors[fieldOf(ae)] = ae.Message
		default:
			c.apiFailure(w, r, s, err)
			return
		}
	}
	c.renderForm(w, r, s, http.StatusUnprocessableEntity, f)
}

func (c *Console) routeDeleteConfirm(w http.ResponseWriter, r *http.Request, s session) {
	rt, err := c.api.Route(r.Context(), r.PathValue("id"))
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "route_delete", c.view(s, "routes", "Delete association", c.rowOf(*rt)))
}

func (c *Console) routeDelete(w http.ResponseWriter, r *http.Request, s session) {
	if err := c.api.DeleteRoute(r.Context(), r.PathValue("id")); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/routes?done=deleted", http.StatusSeeOther)
}
