package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/fngate/fngate/shared/schedule"
)

// ScheduleStore keeps the cluster's schedules (timer triggers).
type ScheduleStore interface {
	Put(ctx context.Context, s *schedule.Schedule, create bool) error
	Ensure(ctx context.Context, s *schedule.Schedule) error
	Get(ctx context.Context, id string) (*schedule.Schedule, error)
	List(ctx context.Context) ([]*schedule.Schedule, error)
	Delete(ctx context.Context, id string) error
}

// schedules returns the store, or ErrAsyncDisabled: firings are async
// invocations.
func (g *Gateway) schedules() (ScheduleStore, error) {
	if g.scheds == nil || g.queue == nil {
		return nil, ErrAsyncDisabled
	}
	return g.scheds, nil
}

// ScheduleList is the answer of GET /admin/schedules.
type ScheduleList struct {
	Schedules []*schedule.Schedule `json:"schedules"`
}

// EnsureSchedules puts the schedules of a routes file, leaving alone those
// stored as they are (their timers keep running).
func (g *Gateway) EnsureSchedules(ctx context.Context, scheds []schedule.Schedule) error {
	st, err := g.schedules()
	if err != nil {
		return err
	}
	for i := range scheds {
		if err := st.Ensure(ctx, &scheds[i]); err != nil {
			return fmt.Errorf("schedule %s: %w", scheds[i].ID, err)
		}
	}
	return nil
}

func (g *Gateway) listSchedules(c *gin.Context) {
	l, err := g.adminAPI().Schedules(c.Request.Context())
	g.adminJSON(c, ScheduleList{Schedules: l}, err)
}

func (g *Gateway) getSchedule(c *gin.Context) {
	st, err := g.schedules()
	if err != nil {
		g.fail(c, err)
		return
	}
	s, err := st.Get(c.Request.Context(), c.Param("id"))
	g.adminJSON(c, s, err)
}

// decodeSchedule reads a schedule from the body, rejecting unknown fields.
func decodeSchedule(c *gin.Context) (*schedule.Schedule, error) {
	s, err := decodeBody[schedule.Schedule](c)
	if err != nil {
		return nil, fmt.Errorf("%w: body is not a schedule object: %v", schedule.ErrInvalid, err)
	}
	return s, nil
}

// createSchedule answers 201 with the schedule (its id generated when
// the body names none); 409 SCHEDULE_EXISTS when the id is taken.
func (g *Gateway) createSchedule(c *gin.Context) {
	if s, ok := g.putSchedule(c, ""); ok {
		c.Header("Location", "/admin/schedules/"+s.ID)
		c.JSON(http.StatusCreated, s)
	}
}

// replaceSchedule creates or replaces schedule id; its timer starts again.
func (g *Gateway) replaceSchedule(c *gin.Context) {
	if s, ok := g.putSchedule(c, c.Param("id")); ok {
		c.JSON(http.StatusOK, s)
	}
}

// putSchedule stores the body's schedule: created when id is "", else
// stored as schedule id. It answers the error itself.
func (g *Gateway) putSchedule(c *gin.Context, id string) (*schedule.Schedule, bool) {
	st, err := g.schedules()
	var s *schedule.Schedule
	if err == nil {
		s, err = decodeSchedule(c)
	}
	if err == nil && id != "" {
		if s.ID == "" {
			s.ID = id
		} else if s.ID != id {
			err = fmt.Errorf("%w: id: %q differs from the URL's %q", schedule.ErrInvalid, s.ID, id)
		}
	}
	if err == nil {
		err = st.Put(c.Request.Context(), s, id == "")
	}
	if err != nil {
		g.fail(c, err)
		return nil, false
	}
	return s, true
}

func (g *Gateway) deleteSchedule(c *gin.Context) {
	if err := g.adminAPI().DeleteSchedule(c.Request.Context(), c.Param("id")); err != nil {
		g.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// Schedules implements adminapi.API.
func (a adminAPI) Schedules(ctx context.Context) ([]*schedule.Schedule, error) {
	st, err := a.g.schedules()
	if err != nil {
		return nil, apiError(err)
	}
	l, err := st.List(ctx)
	return l, apiError(err)
}

// CreateSchedule implements adminapi.API.
func (a adminAPI) CreateSchedule(ctx context.Context, s *schedule.Schedule) error {
	st, err := a.g.schedules()
	if err == nil {
		err = st.Put(ctx, s, true)
	}
	return apiError(err)
}

// DeleteSchedule implements adminapi.API.
func (a adminAPI) DeleteSchedule(ctx context.Context, id string) error {
	st, err := a.g.schedules()
	if err == nil {
		err = st.Delete(ctx, id)
	}
	return apiError(err)
}
