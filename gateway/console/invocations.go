package console

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/record"
)

// statuses are the invocation statuses the filter offers.
var statuses = record.Statuses

// filterForm is the invocation filter, as typed in the page.
type filterForm struct {
	Function, Status, Since, Until, Cursor string
	Errors                                 map[string]string
	Statuses                               []string
}

func readFilter(q url.Values) filterForm {
	return filterForm{Function: q.Get("function"), Status: q.Get("status"), Since: q.Get("since"),
		Until: q.Get("until"), Cursor: q.Get("cursor"), Errors: map[string]string{}, Statuses: statuses}
}

// apiTime turns a datetime-local value (taken as UTC) into RFC 3339; other
// text is passed on for the API to judge.
func apiTime(s string) string {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.Format(time.RFC3339)
		}
	}
	return s
}

// filter is the filter as the admin API takes it, with at most limit
// records a page (0: the API's default).
func (f filterForm) filter(limit int) adminapi.Filter {
	return adminapi.Filter{Function: f.Function, Status: f.Status, Since: apiTime(f.Since), Until: apiTime(f.Until), Cursor: f.Cursor, Limit: limit}
}

// query is the filter as the query string of a console link, with the
// times as the admin API takes them.
func (f filterForm) query(limit int) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"function": f.Function, "status": f.Status, "since": apiTime(f.Since), "until": apiTime(f.Until), "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// next is this page's query with the cursor of the following page.
func (f filterForm) next(cursor string) template.URL {
	g := f
	g.Cursor = cursor
	q := g.query(0)
	for k, v := range map[string]string{"since": f.Since, "until": f.Until} {
		if v != "" {
			q.Set(k, v) // as the user typed it
		}
	}
	return queryURL(q)
}

// queryURL is q encoded for a link's query string. Typed as a URL, it is
// put in href="...?{{.}}" as it is (HTML-escaped); a plain string would be
// escaped as one query value, its "=" and "&" included.
func queryURL(q url.Values) template.URL { return template.URL(q.Encode()) }

// filterStatus is the status of a page listing f's invocations after the
// API answered err: 200, or 400 with the error put beside its filter field.
// Any other error is answered here, and ok is false.
func (c *Console) filterStatus(w http.ResponseWriter, r *http.Request, s session, f *filterForm, err error) (status int, ok bool) {
	switch {
	case err == nil:
		return http.StatusOK, true
	case f.filterError(err):
		return http.StatusBadRequest, true
	}
	c.apiFailure(w, r, s, err)
	return 0, false
}

// filterError puts an API error beside the filter field it names.
func (f *filterForm) filterError(err error) bool {
	var ae *adminapi.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		return false
	}
	switch ae.Field {
	case "function", "status", "since", "until":
		f.Errors[ae.Field] = ae.Message
	default:
		f.Errors[""] = ae.Message
	}
	return true
}

func (c *Console) invocationList(w http.ResponseWriter, r *http.Request, s session) {
	f := readFilter(r.URL.Query())
	page, err := c.api.Invocations(r.Context(), f.filter(50))
	status, ok := c.filterStatus(w, r, s, &f, err)
	if !ok {
		return
	}
	d := struct {
		Filter      filterForm
		Invocations []*record.Invocation
		Next        template.URL
		ReplayQuery template.URL
	}{Filter: f, ReplayQuery: queryURL(filterForm{Function: f.Function, Since: f.Since, Until: f.Until}.query(0))}
	if page != nil { // nil when the filter is refused
		d.Invocations = page.Invocations
		if page.NextCursor != "" {
			d.Next = f.next(page.NextCursor)
		}
	}
	v := c.view(s, "invocations", "Invocations", d)
	v.Notice = notice(r)
	c.render(w, status, "invocations", v)
}

// invocation is one record with its event, as the page shows it.
type invocation struct {
	*adminapi.InvocationDetail
}

// Pretty is the event indented for reading.
func (i invocation) Pretty() string { return indent(i.Event) }

// PrettyRoute is the route the invocation was accepted on.
func (i invocation) PrettyRoute() string { return indent(i.Route) }

func indent(raw json.RawMessage) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func (c *Console) getInvocation(w http.ResponseWriter, r *http.Request, s session) (*invocation, bool) {
	inv, err := c.api.Invocation(r.Context(), r.PathValue("id"))
	if err != nil {
		c.apiFailure(w, r, s, err)
		return nil, false
	}
	return &invocation{inv}, true
}

func (c *Console) invocationDetail(w http.ResponseWriter, r *http.Request, s session) {
	inv, ok := c.getInvocation(w, r, s)
	if !ok {
		return
	}
	v := c.view(s, "invocations", "Invocation "+inv.ID, inv)
	v.Notice = notice(r)
	c.render(w, http.StatusOK, "invocation", v)
}

func (c *Console) replayConfirm(w http.ResponseWriter, r *http.Request, s session) {
	inv, ok := c.getInvocation(w, r, s)
	if !ok {
		return
	}
	c.render(w, http.StatusOK, "replay_one", c.view(s, "invocations", "Replay "+inv.ID, replayForm{inv, body(inv.Event)}))
}

func (c *Console) replayOne(w http.ResponseWriter, r *http.Request, s session) {
	acc, err := c.replay(r)
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/invocations/"+url.PathEscape(acc.InvocationID)+"?done=replayed", http.StatusSeeOther)
}

// replayCandidates lists the dead letters of f that were not replayed yet,
// looking at up to 1000 records (the admin API's bound for one replay).
func (c *Console) replayCandidates(r *http.Request, f filterForm) ([]*record.Invocation, error) {
	f.Status, f.Cursor = record.StatusDead, ""
	var out []*record.Invocation
	for seen := 0; seen < 1000; {
		page, err := c.api.Invocations(r.Context(), f.filter(min(500, 1000-seen)))
		if err != nil {
			return nil, err
		}
		for _, inv := range page.Invocations {
			if inv.LastReplay == "" {
				out = append(out, inv)
			}
		}
		seen += len(page.Invocations)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	return out, nil
}

func (c *Console) replayManyConfirm(w http.ResponseWriter, r *http.Request, s session) {
	f := readFilter(r.URL.Query())
	list, err := c.replayCandidates(r, f)
	status, ok := c.filterStatus(w, r, s, &f, err)
	if !ok {
		return
	}
	c.render(w, status, "replay_many", c.view(s, "invocations", "Replay dead letters", struct {
		Filter      filterForm
		Invocations []*record.Invocation
	}{f, list}))
}

func (c *Console) replayMany(w http.ResponseWriter, r *http.Request, s session) {
	f := readFilter(r.PostForm)
	out, err := c.api.ReplayMany(r.Context(), adminapi.Filter{Function: f.Function, Status: record.StatusDead,
		Since: apiTime(f.Since), Until: apiTime(f.Until), Limit: 1000})
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "replayed", c.view(s, "invocations", "Replay queued", out))
}

// replayForm is the Replay page: the invocation and its event's body,
// offered for editing.
type replayForm struct {
	*invocation
	eventBody
}

// eventBody is an event's body as the Replay page edits it.
type eventBody struct {
	Body   string
	Base64 bool
}

// body is the body of event ev (a kept event: JSON).
func body(ev json.RawMessage) eventBody {
	var e struct {
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
	}
	_ = json.Unmarshal(ev, &e)
	return eventBody{e.Body, e.IsBase64Encoded}
}

// replay replays the invocation of the form posted: edited when its body
// differs from the original (a browser sends CRLF line ends: compared
// without them), else unchanged.
func (c *Console) replay(r *http.Request) (*adminapi.Accepted, error) {
	id := r.PathValue("id")
	edited := strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
	if !r.PostForm.Has("body") || edited == strings.ReplaceAll(r.PostFormValue("original"), "\r\n", "\n") {
		return c.api.Replay(r.Context(), id)
	}
	b64 := r.PostFormValue("base64") == "1"
	return c.api.ReplayEdited(r.Context(), id, &adminapi.Edit{Body: &edited, IsBase64Encoded: &b64})
}

func (c *Console) cancelConfirm(w http.ResponseWriter, r *http.Request, s session) {
	inv, ok := c.getInvocation(w, r, s)
	if !ok {
		return
	}
	c.render(w, http.StatusOK, "cancel_one", c.view(s, "invocations", "Cancel "+inv.ID, inv))
}

func (c *Console) cancelOne(w http.ResponseWriter, r *http.Request, s session) {
	out, err := c.api.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/invocations/"+url.PathEscape(out.InvocationID)+"?done="+out.Status, http.StatusSeeOther)
}
