package console

import (
	"errors"
	"net/http"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/schedule"
)

// scheduleForm is the Schedules page: the list and the New schedule form
// (kept as typed when the API refuses it).
type scheduleForm struct {
	Schedules []*schedule.Schedule
	Function  string
	Kind      string // every or cron
	When      string // the interval or the cron pattern
	Timezone  string
	Body      string
}

func (c *Console) scheduleList(w http.ResponseWriter, r *http.Request, s session) {
	c.renderSchedules(w, r, s, http.StatusOK, &scheduleForm{Kind: "every"}, "")
}

// renderSchedules answers the page with f's list read now.
func (c *Console) renderSchedules(w http.ResponseWriter, r *http.Request, s session, status int, f *scheduleForm, formErr string) {
	l, err := c.api.Schedules(r.Context())
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	f.Schedules = l
	v := c.view(s, "schedules", "Schedules", f)
	v.Notice, v.Error = notice(r), formErr
	c.render(w, status, "schedules", v)
}

func (c *Console) scheduleCreate(w http.ResponseWriter, r *http.Request, s session) {
	f := &scheduleForm{Function: r.PostFormValue("function"), Kind: r.PostFormValue("kind"), When: r.PostFormValue("when"),
		Timezone: r.PostFormValue("timezone"), Body: r.PostFormValue("body")}
	sc := &schedule.Schedule{Function: f.Function, Body: f.Body}
	if f.Kind == "cron" {
		sc.Cron, sc.Timezone = f.When, f.Timezone
	} else {
		sc.Every = f.When
	}
	if err := c.api.CreateSchedule(r.Context(), sc); err != nil {
		var ae *adminapi.Error
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			c.renderSchedules(w, r, s, http.StatusUnprocessableEntity, f, ae.Message)
			return
		}
		c.apiFailure(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/schedules?done=schedule-created", http.StatusSeeOther)
}

func (c *Console) scheduleDeleteConfirm(w http.ResponseWriter, r *http.Request, s session) {
	l, err := c.api.Schedules(r.Context())
	if err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	for _, sc := range l {
		if sc.ID == r.PathValue("id") {
			c.render(w, http.StatusOK, "schedule_delete", c.view(s, "schedules", "Delete schedule", sc))
			return
		}
	}
	c.errorPage(w, s, http.StatusNotFound, "No such schedule.")
}

func (c *Console) scheduleDelete(w http.ResponseWriter, r *http.Request, s session) {
	if err := c.api.DeleteSchedule(r.Context(), r.PathValue("id")); err != nil {
		c.apiFailure(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/schedules?done=schedule-deleted", http.StatusSeeOther)
}
