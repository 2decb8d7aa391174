package gateway_test

import (
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/schedule"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// TestScheduleEverySecond: two gateways, a schedule every second: 3±1
// runs in 3.5 s, none twice, each an invocation with trigger
// schedule:<id>; deleted, it runs no more.
func TestScheduleEverySecond(t *testing.T) {
	t.Parallel()
	s := gt.New(t)
	scheduleEverySecond(t, s)
}

// TestScheduleEverySecondR3 is TestScheduleEverySecond on a three-node
// JetStream cluster with R3 streams.
func TestScheduleEverySecondR3(t *testing.T) {
	t.Parallel()
	nodes := testenv.NATSCluster(t, 3)
	s := gt.NewWithNATS(t, nodes[0])
	s.URL = testenv.ClientURLs(nodes)
	s.StreamReplicas = 3
	scheduleEverySecond(t, s)
}

func scheduleEverySecond(t *testing.T, s *gt.Stack) {
	a, b := s.Gateway(gateway.Config{}), s.Gateway(gateway.Config{})
	var log runLog
	s.Worker(worker.Config{}, map[string]sdk.Handler{"tick": log.handler()})
	s.Worker(worker.Config{}, map[string]sdk.Handler{"tick": log.handler()})

	resp := adminDo(t, a, "POST", "/admin/schedules", map[string]any{"function": "tick", "every": "1s", "body": "tick", "retry": map[string]any{"maxAttempts": 2}})
	var made schedule.Schedule
	resp.JSON(t, &made)
	if resp.Status != 201 || made.ID == "" || made.Every != "1s" || resp.Header.Get("Location") != "/admin/schedules/"+made.ID {
		t.Fatalf("create = %d %s", resp.Status, resp.Body)
	}
	start := time.Now()
	// The other gateway sees it; a second create with its id is refused.
	var list gateway.ScheduleList
	adminDo(t, b, "GET", "/admin/schedules", nil).JSON(t, &list)
	if len(list.Schedules) != 1 || list.Schedules[0].ID != made.ID || list.Schedules[0].Function != "tick" {
		t.Fatalf("list on the other gateway = %+v", list)
	}
	assertError(t, adminDo(t, b, "POST", "/admin/schedules", map[string]any{"id": made.ID, "function": "tick", "every": "5s"}), 409, "SCHEDULE_EXISTS")

	testenv.Eventually(t, 10*time.Second, "3.5 s passed", func() bool { return time.Since(start) >= 3500*time.Millisecond })
	n := len(log.of("tick"))
	if n < 2 || n > 4 {
		t.Fatalf("%d runs in 3.5 s, want 3±1", n)
	}
	if resp := adminDo(t, b, "DELETE", "/admin/schedules/"+made.ID, nil); resp.Status != 204 {
		t.Fatalf("delete = %d %s", resp.Status, resp.Body)
	}
	assertError(t, adminDo(t, a, "GET", "/admin/schedules/"+made.ID, nil), 404, "SCHEDULE_NOT_FOUND")
	// Every firing recorded once, with its trigger and the schedule's
	// retry policy, and run once.
	var page record.Page
	testenv.Eventually(t, 10*time.Second, "every run recorded as succeeded", func() bool {
		adminDo(t, a, "GET", "/admin/invocations?function=tick", nil).JSON(t, &page)
		for _, inv := range page.Invocations {
			if inv.Status != record.StatusSucceeded {
				return false
			}
		}
		return len(page.Invocations) == len(log.of("tick"))
	})
	after := len(page.Invocations)
	for _, inv := range page.Invocations {
		if inv.Attempts != 1 || inv.MaxAttempts != 2 || inv.Trigger != "schedule:"+made.ID {
			t.Fatalf("firing record %+v", inv)
		}
	}
	// Deleted: no firing in the next 2.5 s (a firing published just
	// before the delete was counted above).
	deadline := time.Now().Add(2500 * time.Millisecond)
	testenv.Eventually(t, 5*time.Second, "2.5 s without the schedule", func() bool { return time.Now().After(deadline) })
	if got := len(log.of("tick")); got != after {
		t.Fatalf("%d runs after the delete, %d before", got, after)
	}
	t.Logf("%d runs in 3.5 s, %d in all", n, after)
}
