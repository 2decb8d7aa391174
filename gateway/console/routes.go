package console

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fngate/fngate/shared/route"
)

type routeList struct {
	Routes  []route.Route `json:"routes"`
	Version int64         `json:"version"`
}

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

// routePage is one page of the HTTP access table.
type routePage struct {
	Rows       []routeRow
	Version    int64
	Query      string       // the filter, as typed
	Total      int          // associations in the table
	Matched    int          // of those, matching the filter
	First      int          // 1-based number of the first row shown
	Last       int          // of the last row shown
	Prev, Next template.URL // query strings of the neighbouring pages, if any
}

// matches reports whether rt matches the filter q: every word of q, case
// folded, is part of its domain, trigger path, function or mode.
func matches(rt route.Route, q string) bool {
	hay := strings.ToLower(strings.Join([]string{rt.Domain, rt.Path, rt.Function, string(rt.Mode)}, " "))
	for _, w := range strings.Fields(strings.ToLower(q)) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// routeList shows the associations matching ?q=, routesPerPage at a time
// (?page=, from 1; out of range shows the nearest page).
func (c *Console) routeList(w http.ResponseWriter, r *http.Request, s session) {
	var list routeList
	if err := c.api.call(r.Context(), http.MethodGet, "/admin/routes", nil, &list); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	matched := list.Routes
	if q != "" {
		matched = slices.DeleteFunc(slices.Clone(list.Routes), func(rt route.Route) bool { return !matches(rt, q) })
	}
	pages := max(1, (len(matched)+routesPerPage-1)/routesPerPage)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = min(max(page, 1), pages)
	from, to := (page-1)*routesPerPage, min(page*routesPerPage, len(matched))
	d := routePage{Version: list.Version, Query: q, Total: len(list.Routes), Matched: len(matched), First: from + 1, Last: to}
	for _, rt := range matched[from:to] {
		d.Rows = append(d.Rows, c.rowOf(rt))
	}
	link := func(p int) template.URL {
		v := url.Values{"page": {strconv.Itoa(p)}}
		if q != "" {
			v.Set("q", q)
		}
		return queryURL(v)
	}
	if page > 1 {
		d.Prev = link(page - 1)
	}
	if page < pages {
		d.Next = link(page + 1)
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
	MaxAttempts    string
	// Errors by field name; "" is the form as a whole.
	Errors map[string]string
	// Functions are the served functions offered as targets.
	Functions []functionLoad
	Choices   []string
}

func formOf(rt route.Route) routeForm {
	f := routeForm{ID: rt.ID, ResourceType: "function", Function: rt.Function, Path: rt.Path, Methods: map[string]bool{},
		Mode: rt.Mode, StripPrefix: rt.StripPrefix, RecordFailures: rt.RecordFailures}
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
		MaxAttempts:    strings.TrimSpace(r.PostFormValue("maxAttempts")),
	}
	for _, m := range r.PostForm["methods"] {
		f.Methods[m] = true
	}
	return f
}

// body is the route the form describes, as the admin API's JSON, laid over
// base (the route being edited, or empty) so that fields the form does not
// show are kept. The API validates it.
func (f *routeForm) body(base map[string]any) (json.RawMessage, bool) {
	f.Errors = map[string]string{}
	if f.ResourceType != "function" {
		f.Errors["resourceType"] = "Choose the resource type: only cloud functions can be associated."
	}
	b := map[string]any{}
	for k, v := range base {
		b[k] = v
	}
	delete(b, "id")
	switch f.DomainKind {
	case "default":
		b["domain"] = route.DomainDefault
	case "any":
		b["domain"] = route.DomainAny
	case "custom":
		b["domain"] = f.CustomDomain
	default:
		f.Errors["domain"] = "Choose the default domain, a custom domain, or *."
	}
	b["path"], b["function"] = f.Path, f.Function
	var methods []string
	for _, m := range methodChoices {
		if f.Methods[m] {
			methods = append(methods, m)
		}
	}
	setOrDelete(b, "methods", methods, len(methods) > 0)
	setOrDelete(b, "mode", f.Mode, f.Mode != "")
	setOrDelete(b, "timeout", f.Timeout, f.Timeout != "")
	setOrDelete(b, "stripPrefix", true, f.StripPrefix)
	setOrDelete(b, "recordFailures", true, f.RecordFailures)
	retry, _ := b["retry"].(map[string]any)
	if retry == nil {
		retry = map[string]any{}
	}
	if f.MaxAttempts != "" {
		n, err := strconv.Atoi(f.MaxAttempts)
		if err != nil {
			f.Errors["maxAttempts"] = "Enter a whole number of attempts, or leave it empty for the default."
		}
		retry["maxAttempts"] = n
	} else {
		delete(retry, "maxAttempts")
	}
	setOrDelete(b, "retry", retry, len(retry) > 0)
	if len(f.Errors) > 0 {
		return nil, false
	}
	raw, err := json.Marshal(b)
	if err != nil {
		f.Errors[""] = err.Error()
		return nil, false
	}
	return raw, true
}

func setOrDelete(m map[string]any, k string, v any, set bool) {
	if set {
		m[k] = v
	} else {
		delete(m, k)
	}
}

// fieldOf names the form field an admin API error is about.
func fieldOf(ae *apiError) string {
	switch {
	case ae.Code == "ROUTE_EXISTS":
		return "path"
	case ae.Field == "domain", ae.Field == "path", ae.Field == "function", ae.Field == "methods",
		ae.Field == "mode", ae.Field == "timeout":
		return ae.Field
	case strings.HasPrefix(ae.Field, "retry."):
		return "maxAttempts"
	}
	return ""
}

func (c *Console) renderForm(w http.ResponseWriter, r *http.Request, s session, status int, f routeForm) {
	var fl functionList
	if err := c.api.call(r.Context(), http.MethodGet, "/admin/functions", nil, &fl); err != nil {
		c.log.Warn("console: functions unavailable for the route form", "err", err)
	}
	f.Functions, f.Choices = fl.Functions, methodChoices
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
	var rt route.Route
	if err := c.api.call(r.Context(), http.MethodGet, "/admin/routes/"+url.PathEscape(r.PathValue("id")), nil, &rt); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	c.renderForm(w, r, s, http.StatusOK, formOf(rt))
}

func (c *Console) routeCreate(w http.ResponseWriter, r *http.Request, s session) {
	f := readForm(r)
	c.saveRoute(w, r, s, f, http.MethodPost, "/admin/routes", nil, "created")
}

func (c *Console) routeUpdate(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	path := "/admin/routes/" + url.PathEscape(id)
	var base map[string]any
	if err := c.api.call(r.Context(), http.MethodGet, path, nil, &base); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	f := readForm(r)
	f.ID = id
	c.saveRoute(w, r, s, f, http.MethodPut, path, base, "updated")
}

func (c *Console) saveRoute(w http.ResponseWriter, r *http.Request, s session, f routeForm, method, path string, base map[string]any, done string) {
	body, ok := f.body(base)
	if ok {
		err := c.api.call(r.Context(), method, path, body, nil)
		var ae *apiError
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
	var rt route.Route
	if err := c.api.call(r.Context(), http.MethodGet, "/admin/routes/"+url.PathEscape(r.PathValue("id")), nil, &rt); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "route_delete", c.view(s, "routes", "Delete association", c.rowOf(rt)))
}

func (c *Console) routeDelete(w http.ResponseWriter, r *http.Request, s session) {
	if err := c.api.call(r.Context(), http.MethodDelete, "/admin/routes/"+url.PathEscape(r.PathValue("id")), nil, nil); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/routes?done=deleted", http.StatusSeeOther)
}
