package console

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fngate/fngate/gateway/adminapi"
)

// A function's page: its code versions, what each worker runs, and the
// forms to upload a new version or roll back to one.

func (c *Console) functionPage(w http.ResponseWriter, r *http.Request, s session) {
	name := r.PathValue("name")
	d, err := c.api.Function(r.Context(), name)
	var ae *adminapi.Error
	if errors.As(err, &ae) && ae.Code == "FUNCTION_NOT_FOUND" {
		// Nothing yet: the page offers the first upload.
		d, err = &adminapi.FunctionDetail{Function: name}, nil
	}
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	v := c.view(s, "functions", "Function "+name, d)
	v.Notice = notice(r)
	c.render(w, http.StatusOK, "function", v)
}

// deployCode uploads the archive of the form's file field as the
// function's next version.
func (c *Console) deployCode(w http.ResponseWriter, r *http.Request, s session) {
	name := r.PathValue("name")
	f, _, err := r.FormFile("archive")
	if err != nil {
		c.errorPage(w, s, http.StatusBadRequest, "Choose a .tar.gz or .zip of the function's folder (at most "+strconv.FormatInt(c.cfg.MaxUpload>>20, 10)+" MiB).")
		return
	}
	defer f.Close()
	archive, err := io.ReadAll(f)
	if err != nil {
		c.errorPage(w, s, http.StatusBadRequest, "The upload could not be read: "+err.Error())
		return
	}
	d, err := c.api.Deploy(r.Context(), name, archive)
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	c.toFunction(w, r, name, "deployed", d.Current)
}

// rollbackCode makes the form's version current again.
func (c *Console) rollbackCode(w http.ResponseWriter, r *http.Request, s session) {
	name := r.PathValue("name")
	v, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("version")), 10, 64)
	if err != nil {
		v = 0 // refused by the API, with its message
	}
	d, err := c.api.Rollback(r.Context(), name, v)
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	c.toFunction(w, r, name, "rolledback", d.Current)
}

// toFunction sends the browser back to the function's page with a notice.
func (c *Console) toFunction(w http.ResponseWriter, r *http.Request, name, done string, v int64) {
	q := url.Values{"done": {done}, "v": {strconv.FormatInt(v, 10)}}
	http.Redirect(w, r, "/console/functions/"+url.PathEscape(name)+"?"+q.Encode(), http.StatusSeeOther)
}
