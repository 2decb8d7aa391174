package schedule_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/schedule"
)

// TestNormalize: what a schedule must be, and the id generated when
// omitted.
func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		s     schedule.Schedule
		field string // "" valid
	}{
		{schedule.Schedule{Function: "f", Every: "1s"}, ""},
		{schedule.Schedule{ID: "nightly", Function: "f", Cron: "0 30 2 * * *", Timezone: "Europe/Paris"}, ""},
		{schedule.Schedule{Function: "f", Cron: "@hourly"}, ""},
		{schedule.Schedule{Function: "f", Every: "90s", Retry: &route.Retry{MaxAttempts: 5}}, ""},
		{schedule.Schedule{Function: "f"}, "cron"},
		{schedule.Schedule{Function: "f", Every: "1s", Cron: "* * * * * *"}, "cron"},
		{schedule.Schedule{Function: "f", Every: "500ms"}, "every"},
		{schedule.Schedule{Function: "f", Every: "soon"}, "every"},
		{schedule.Schedule{Function: "f", Every: "1s", Timezone: "UTC"}, "timezone"},
		{schedule.Schedule{Function: "f", Cron: "* * * * *"}, "cron"},
		{schedule.Schedule{Function: "f", Cron: "0 0 * * * *", Timezone: "Mars/Olympus"}, "timezone"},
		{schedule.Schedule{ID: "Bad Id", Function: "f", Every: "1s"}, "id"},
		{schedule.Schedule{Function: "F!", Every: "1s"}, "function"},
		{schedule.Schedule{Function: "f", Every: "1s", Body: strings.Repeat("x", schedule.MaxBody+1)}, "body"},
		{schedule.Schedule{Function: "f", Every: "1s", Retry: &route.Retry{MaxAttempts: 1000}}, "retry"},
	} {
		s := tc.s
		err := s.Normalize()
		switch {
		case tc.field == "" && (err != nil || s.ID == ""):
			t.Errorf("%+v: %v (id %q)", tc.s, err, s.ID)
		case tc.field != "" && (!errors.Is(err, schedule.ErrInvalid) || !strings.Contains(err.Error(), tc.field)):
			t.Errorf("%+v: %v, want an error naming %s", tc.s, err, tc.field)
		}
	}
}

// TestParseFile: the schedules: section of a routes file, ids required
// and unique; a file without the section has none.
func TestParseFile(t *testing.T) {
	got, err := schedule.ParseFile([]byte("routes: []\nschedules:\n  - {id: a, function: f, every: 1m}\n  - {id: b, function: g, cron: \"0 0 3 * * *\"}\n"))
	if err != nil || len(got) != 2 || got[0].Every != "1m0s" || got[1].Cron != "0 0 3 * * *" {
		t.Fatalf("ParseFile = %+v, %v", got, err)
	}
	if got, err := schedule.ParseFile([]byte(`{"routes": []}`)); err != nil || len(got) != 0 {
		t.Fatalf("no section: %+v, %v", got, err)
	}
	for _, bad := range []string{
		"schedules:\n  - {function: f, every: 1s}\n",
		"schedules:\n  - {id: a, function: f, every: 1s}\n  - {id: a, function: g, every: 2s}\n",
		"schedules:\n  - {id: a, function: f, every: 1s, colour: red}\n",
	} {
		if _, err := schedule.ParseFile([]byte(bad)); err == nil {
			t.Errorf("ParseFile(%q) accepted", bad)
		}
	}
}
