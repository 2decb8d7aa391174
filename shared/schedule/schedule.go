// Package schedule is fngate's timer triggers: a schedule fires a
// function on a cron pattern or every fixed interval. A schedule is one
// JetStream schedule message (nats-server 2.12+ message scheduling) in
// the schedules stream, fngate.schedule.<id>: the message is the only
// copy, shared by every gateway, and the stream's leader fires it, so each
// firing happens once whatever the number of gateways. Each firing is an
// asynchronous invocation (see event.ParseJob for its id).
package schedule

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
)

// Schedule fires Function on Cron or Every, with Body and Headers as the
// event and Retry as each firing's retry policy.
type Schedule struct {
	// ID is [a-z0-9][a-z0-9_-]{0,63}; generated when empty.
	ID       string `json:"id" yaml:"id"`
	Function string `json:"function" yaml:"function"`
	// Retry is each firing's retry policy (the route defaults when nil).
	Retry *route.Retry `json:"retry,omitempty" yaml:"retry,omitempty"`
	// Cron is a six-field pattern with seconds ("0 */5 * * * *") or one
	// of @yearly, @monthly, @weekly, @daily, @hourly, in Timezone (an
	// IANA name; default UTC). Every is a Go duration of at least 1s.
	// Exactly one of them is set.
	Cron     string `json:"cron,omitempty" yaml:"cron,omitempty"`
	Every    string `json:"every,omitempty" yaml:"every,omitempty"`
	Timezone string `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	// Headers and Body are each firing's event (method POST, path /).
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	Body    string            `json:"body,omitempty" yaml:"body,omitempty"`
}

// Errors of schedules.
var (
	// ErrInvalid: a field is missing or malformed (the message says which).
	ErrInvalid  = errors.New("invalid schedule")
	ErrNotFound = errors.New("no such schedule")
	ErrExists   = errors.New("a schedule with this id exists")
)

// MaxBody bounds a schedule's body and headers together.
const MaxBody = 64 << 10

// Normalize validates s, generating its id when empty.
func (s *Schedule) Normalize() error {
	if s.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.ID = hex.EncodeToString(b[:])
	}
	bad := func(field, msg string) error { return fmt.Errorf("%w: %s: %s", ErrInvalid, field, msg) }
	switch {
	case !subject.ValidSchedule(s.ID):
		return bad("id", "must match [a-z0-9][a-z0-9_-]{0,63}")
	case !subject.ValidFunction(s.Function):
		return bad("function", "must match [a-z0-9][a-z0-9_-]{0,63}")
	case (s.Cron == "") == (s.Every == ""):
		return bad("cron", "exactly one of cron and every is required")
	case s.Every != "" && s.Timezone != "":
		return bad("timezone", "applies to cron only")
	}
	if s.Every != "" {
		d, err := time.ParseDuration(s.Every)
		if err != nil || d < time.Second {
			return bad("every", "must be a Go duration of at least 1s, such as 30s")
		}
		s.Every = d.String()
	}
	if s.Cron != "" && !strings.HasPrefix(s.Cron, "@") && len(strings.Fields(s.Cron)) != 6 {
		return bad("cron", "must have six fields (seconds first) or be @hourly, @daily, ...")
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			return bad("timezone", "unknown time zone "+s.Timezone)
		}
	}
	size := len(s.Body)
	for k, v := range s.Headers {
		size += len(k) + len(v)
	}
	if size > MaxBody {
		return bad("body", fmt.Sprintf("body and headers exceed %d bytes", MaxBody))
	}
	rt := s.policy()
	if err := rt.Normalize(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// policy is the route whose policy each firing runs with.
func (s *Schedule) policy() route.Route {
	return route.Route{Domain: route.DomainAny, Path: "/", Function: s.Function, Retry: s.Retry}
}

// pattern is the Nats-Schedule value.
func (s *Schedule) pattern() string {
	if s.Every != "" {
		return "@every " + s.Every
	}
	return s.Cron
}

// Header and content of a schedule message.
const (
	// HeaderSchedule holds the schedule as JSON, so it reads back as
	// written. Firings carry it too (JetStream copies the headers).
	HeaderSchedule = "Fngate-Schedule"
)

// msg is the schedule message of s (normalised).
func (s *Schedule) msg() (*nats.Msg, error) {
	subj, target, err := subject.Schedule(s.ID, s.Function)
	if err != nil {
		return nil, err
	}
	rt := s.policy()
	_ = rt.Normalize()
	job := event.JobFor(&rt)
	job.RequestID = "schedule-" + s.ID
	h := job.Header()
	def, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	h.Set(HeaderSchedule, string(def))
	h.Set(queue.HeaderSchedule, s.pattern())
	if s.Timezone != "" {
		h.Set(queue.HeaderScheduleTimeZone, s.Timezone)
	}
	h.Set(queue.HeaderScheduleTarget, target)
	h.Set(queue.HeaderScheduleTTL, queue.FiredTTL.String())
	ev := event.Event{Path: "/", HTTPMethod: "POST", Headers: map[string]string{}, Body: s.Body}
	for k, v := range s.Headers {
		ev.Headers[strings.ToLower(k)] = v
	}
	ev.RequestContext.RequestID = job.RequestID
	data, err := json.Marshal(&ev)
	if err != nil {
		return nil, err
	}
	return &nats.Msg{Subject: subj, Header: h, Data: data}, nil
}

// Store keeps schedules in the schedules stream.
type Store struct{ js jetstream.JetStream }

// NewStore returns the schedules of js's schedules stream (queue.EnsureStreams
// creates it).
func NewStore(js jetstream.JetStream) *Store { return &Store{js: js} }

// Put creates or replaces s (normalised first). With create, a schedule
// with the same id is not replaced: ErrExists. A replaced schedule's
// timer starts again from now.
func (st *Store) Put(ctx context.Context, s *Schedule, create bool) error {
	if err := s.Normalize(); err != nil {
		return err
	}
	m, err := s.msg()
	if err != nil {
		return err
	}
	if create {
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	}
	if _, err := st.js.PublishMsg(ctx, m); err != nil {
		var ae *jetstream.APIError
		if create && errors.As(err, &ae) && (ae.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			ae.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return fmt.Errorf("%w: %s", ErrExists, s.ID)
		}
		if errors.As(err, &ae) && slices.Contains(refusedCodes, ae.ErrorCode) {
			return fmt.Errorf("%w: %s", ErrInvalid, ae.Description)
		}
		return fmt.Errorf("schedule: put %s: %w", s.ID, err)
	}
	return nil
}

// refusedCodes are JetStream's answers to a schedule pattern or time
// zone it cannot use (nats-server's errors.json:
// JSMessageSchedulesPatternInvalidErr, JSMessageSchedulesTimeZoneInvalidErr).
var refusedCodes = []jetstream.ErrorCode{10189, 10223}

// Ensure puts s unless the stored schedule is the same, so that
// gateways applying one routes file at start do not restart its timer.
func (st *Store) Ensure(ctx context.Context, s *Schedule) error {
	if err := s.Normalize(); err != nil {
		return err
	}
	if have, err := st.Get(ctx, s.ID); err == nil && same(have, s) {
		return nil
	}
	return st.Put(ctx, s, false)
}

func same(a, b *Schedule) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// Get returns schedule id.
func (st *Store) Get(ctx context.Context, id string) (*Schedule, error) {
	subj, err := subject.ScheduleSubject(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	s, err := st.stream(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	} else if err != nil {
		return nil, fmt.Errorf("schedule: get %s: %w", id, err)
	}
	return decode(m)
}

func decode(m *jetstream.RawStreamMsg) (*Schedule, error) {
	var s Schedule
	if err := json.Unmarshal([]byte(m.Header.Get(HeaderSchedule)), &s); err != nil {
		return nil, fmt.Errorf("schedule: %s: %w", m.Subject, err)
	}
	return &s, nil
}

// List returns every schedule, by id.
func (st *Store) List(ctx context.Context) ([]*Schedule, error) {
	s, err := st.stream(ctx)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject.SchedulesFilter()))
	if err != nil {
		return nil, fmt.Errorf("schedule: list: %w", err)
	}
	out := make([]*Schedule, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		m, err := s.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted meanwhile
		} else if err != nil {
			return nil, fmt.Errorf("schedule: list: %w", err)
		}
		if sc, err := decode(m); err == nil {
			out = append(out, sc)
		}
	}
	slices.SortFunc(out, func(a, b *Schedule) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Delete removes schedule id: it fires no more (a firing already
// published still runs).
func (st *Store) Delete(ctx context.Context, id string) error {
	if _, err := st.Get(ctx, id); err != nil {
		return err
	}
	subj, _ := subject.ScheduleSubject(id)
	s, err := st.stream(ctx)
	if err != nil {
		return err
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
		return fmt.Errorf("schedule: delete %s: %w", id, err)
	}
	return nil
}

func (st *Store) stream(ctx context.Context) (jetstream.Stream, error) {
	s, err := st.js.Stream(ctx, subject.StreamSchedules)
	if err != nil {
		return nil, fmt.Errorf("schedule: stream %s: %w", subject.StreamSchedules, err)
	}
	return s, nil
}

// ParseFile reads the schedules: section of a routes file (YAML, or
// JSON), normalised; ids must be unique and are required there (a file
// applied at every start must name the same schedules each time).
func ParseFile(data []byte) ([]Schedule, error) {
	var f struct {
		Routes    any        `yaml:"routes"`    // route.ParseFile's
		Functions any        `yaml:"functions"` // route.ParseFunctions'
		Schedules []Schedule `yaml:"schedules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data)) // JSON is YAML too
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("routes file: schedules: %w", err)
	}
	seen := map[string]int{}
	for i := range f.Schedules {
		if f.Schedules[i].ID == "" {
			return nil, fmt.Errorf("routes file: schedules[%d]: %w: id: required in a routes file", i, ErrInvalid)
		}
		if err := f.Schedules[i].Normalize(); err != nil {
			return nil, fmt.Errorf("routes file: schedules[%d]: %w", i, err)
		}
		if j, dup := seen[f.Schedules[i].ID]; dup {
			return nil, fmt.Errorf("routes file: schedules[%d]: %w: id %q already used by schedules[%d]", i, ErrInvalid, f.Schedules[i].ID, j)
		}
		seen[f.Schedules[i].ID] = i
	}
	return f.Schedules, nil
}
