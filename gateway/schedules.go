package gateway

import (
	"context"
	"encoding/json"
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
	st, err := g.schedules()
	if err != nil {
		g.fail(c, err)
		return
	}
	l, err := st.List(c.Request.Context())
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
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	var s schedule.Schedule
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: body is not a schedule object: %v", schedule.ErrInvalid, err)
	}
	return &s, nil
}

// createSchedule answers 201 with the schedule (its id generated when
// the body names none); 409 SCHEDULE_EXISTS when the id is taken.
func (g *Gateway) createSchedule(c *gin.Context) {
	st, err := g.schedules()
	var s *schedule.Schedule
	if err == nil {
		s, err = decodeSchedule(c)
	}
	if err == nil {
		err = st.Put(c.Request.Context(), s, true)
	}
	if err != nil {
		g.fail(c, err)
		return
	}
	c.Header("Location", "/admin/schedules/"+s.ID)
	c.JSON(http.StatusCreated, s)
}

// replaceSchedule creates or replaces schedule id; its timer starts again.
func (g *Gateway) replaceSchedule(c *gin.Context) {
	st, err := g.schedules()
	var s *schedule.Schedule
	if err == nil {
		s, err = decodeSchedule(c)
	}
	if err == nil {
		switch id := c.Param("id"); {
		case s.ID == "":
			s.ID = id
		case s.ID != id:
			err = fmt.Errorf("%w: id: %q differs from the URL's %q", schedule.ErrInvalid, s.ID, id)
		}
	}
	if err == nil {
		err = st.Put(c.Request.Context(), s, false)
	}
	g.adminJSON(c, s, err)
}

func (g *Gateway) deleteSchedule(c *gin.Context) {
	st, err := g.schedules()
	if err == nil {
		err = st.Delete(c.Request.Context(), c.Param("id"))
	}
	if err != nil {
		g.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
