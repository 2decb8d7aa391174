package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
	"github.com/fngate/fngate/worker/sdk"
)

// cancelCall posts a cancel and checks its status and answer.
func cancelCall(t *testing.T, gw *gt.Gateway, id string, status int, want string) {
	t.Helper()
	resp := gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/cancel", "", nil, nil)
	var out struct{ InvocationID, Status string }
	resp.JSON(t, &out)
	if resp.Status != status || out.InvocationID != id || out.Status != want {
		t.Fatalf("cancel %s = %d %s, want %d %s", id, resp.Status, resp.Body, status, want)
	}
}

// TestAsyncCancel: a queued invocation cancelled never runs (200); a
// running one has its attempt's context cancelled and ends cancelled with
// no further attempt (202); a finished one answers 409 with its status; a
// cancelled one can be replayed.
func TestAsyncCancel(t *testing.T) {
	t.Parallel()
	retry := &route.Retry{MaxAttempts: 3, InitialDelay: route.Duration(100 * time.Millisecond), MaxDelay: route.Duration(time.Second)}
	s := gt.New(t,
		route.Route{Domain: "*", Path: "/later", Function: "later", Mode: "async"},
		route.Route{Domain: "*", Path: "/block", Function: "block", Mode: "async", Retry: retry, Timeout: route.Duration(time.Minute)},
	)
	gw := s.Gateway(gateway.Config{})

	// Queued: no worker serves "later" yet, so its message waits.
	queued := acceptOK(t, gw.URL+"/later", nil, "never")
	cancelCall(t, gw, queued, http.StatusOK, record.StatusCancelled)
	if d := adminRecord(t, gw, queued); d.Status != record.StatusCancelled || d.Attempts != 0 || d.Function != "later" {
		t.Fatalf("cancelled queued record = %+v", d.Invocation)
	}
	cancelCall(t, gw, queued, http.StatusOK, record.StatusCancelled) // a retried cancel

	var laterRuns, blockRuns atomic.Int64
	sawDone := make(chan struct{}, 4)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"later": sdk.HandlerFunc(func(ctx context.Context, ev *event.Event) (any, error) {
			laterRuns.Add(1)
			return ev.Body, nil
		}),
		"block": sdk.HandlerFunc(func(ctx context.Context, ev *event.Event) (any, error) {
			blockRuns.Add(1)
			select {
			case <-ctx.Done():
				sawDone <- struct{}{}
				return nil, ctx.Err()
			case <-release:
				return "released", nil
			}
		}),
	})
	// The worker consumes "later": a new invocation runs, the cancelled one never.
	after := acceptOK(t, gw.URL+"/later", nil, "runs")
	waitStatus(t, gw, after, record.StatusSucceeded, 10*time.Second)
	if n := laterRuns.Load(); n != 1 {
		t.Fatalf("later ran %d times, want 1 (the cancelled invocation ran)", n)
	}

	// Running: the handler sees ctx.Done(), the record ends cancelled after
	// one attempt although the route allows three.
	running := acceptOK(t, gw.URL+"/block", nil, "")
	waitStatus(t, gw, running, record.StatusRunning, 10*time.Second)
	cancelCall(t, gw, running, http.StatusAccepted, record.StatusCancelling)
	select {
	case <-sawDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the running handler's context was not cancelled")
	}
	waitStatus(t, gw, running, record.StatusCancelled, 10*time.Second)
	if d := adminRecord(t, gw, running); d.Attempts != 1 || blockRuns.Load() != 1 {
		t.Fatalf("cancelled running record = %+v after %d runs, want 1 attempt", d.Invocation, blockRuns.Load())
	}

	// A worker that misses the cancel's message (here: the record is
	// cancelled behind its back) learns it when it renews the lease.
	missed := acceptOK(t, gw.URL+"/block", nil, "")
	waitStatus(t, gw, missed, record.StatusRunning, 10*time.Second)
	if st, err := s.Invocations.Cancel(context.Background(), missed, nil, nil); err != nil || st != record.StatusCancelling {
		t.Fatalf("cancel in the record = %q, %v", st, err)
	}
	select {
	case <-sawDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the lease renewal did not cancel the running handler's context")
	}
	waitStatus(t, gw, missed, record.StatusCancelled, 10*time.Second)

	// Finished: 409 with the status.
	resp := gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+after+"/cancel", "", nil, nil)
	var body struct{ Error struct{ Code, Status string } }
	resp.JSON(t, &body)
	if resp.Status != 409 || body.Error.Code != "INVOCATION_ENDED" || body.Error.Status != record.StatusSucceeded {
		t.Fatalf("cancel of a finished invocation = %d %s", resp.Status, resp.Body)
	}
	assertError(t, gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/0123456789abcdef0123456789abcdef/cancel", "", nil, nil), 404, "INVOCATION_NOT_FOUND")
	assertError(t, gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/nope/cancel", "", nil, nil), 400, "INVALID_INVOCATION_ID")

	// A cancelled invocation can be replayed: it runs then.
	rep := gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+queued+"/replay", "", nil, nil)
	var acc struct{ InvocationID, ReplayOf string }
	rep.JSON(t, &acc)
	if rep.Status != 202 || acc.ReplayOf != queued {
		t.Fatalf("replay of a cancelled invocation = %d %s", rep.Status, rep.Body)
	}
	if inv := waitStatus(t, gw, acc.InvocationID, record.StatusSucceeded, 10*time.Second); inv.Result.Body != "never" {
		t.Fatalf("replayed result = %+v", inv.Result)
	}
}

// TestAsyncReplayEdited: a replay with a body runs the edited event as a
// new invocation marked edited, every time; without one the replay-once
// guard holds.
func TestAsyncReplayEdited(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/echo", Function: "echo", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())

	id := acceptOK(t, gw.URL+"/echo", http.Header{"X-Old": {"o"}}, "original")
	waitStatus(t, gw, id, record.StatusSucceeded, 10*time.Second)

	edit := []byte(`{"body":"corrected","headers":{"X-Fixed":"yes"}}`)
	var ids []string
	for range 2 {
		resp := gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/replay", "", jsonType, edit)
		var acc struct {
			InvocationID, ReplayOf string
			Edited                 bool
		}
		resp.JSON(t, &acc)
		if resp.Status != 202 || acc.ReplayOf != id || !acc.Edited {
			t.Fatalf("edited replay = %d %s", resp.Status, resp.Body)
		}
		ids = append(ids, acc.InvocationID)
		inv := waitStatus(t, gw, acc.InvocationID, record.StatusSucceeded, 10*time.Second)
		var ev event.Event
		if err := json.Unmarshal([]byte(inv.Result.Body), &ev); err != nil || ev.Body != "corrected" || ev.Headers["x-fixed"] != "yes" || ev.Headers["x-old"] != "" {
			t.Fatalf("edited replay ran %+v (%v)", inv.Result, err)
		}
		if d := adminRecord(t, gw, acc.InvocationID); !d.Edited || d.ReplayOf != id || d.Event.Body != "corrected" {
			t.Fatalf("edited replay record = %+v event %+v", d.Invocation, d.Event)
		}
	}
	if ids[0] == ids[1] {
		t.Fatalf("two edited replays made one invocation %s", ids[0])
	}
	// Unedited (no body, or {}): once, and not marked edited.
	var plain []string
	for _, b := range [][]byte{nil, []byte(`{}`)} {
		resp := gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/replay", "", jsonType, b)
		var acc struct {
			InvocationID string
			Edited       bool
		}
		resp.JSON(t, &acc)
		if resp.Status != 202 || acc.Edited {
			t.Fatalf("unedited replay = %d %s", resp.Status, resp.Body)
		}
		plain = append(plain, acc.InvocationID)
	}
	if plain[0] != plain[1] || plain[0] == ids[0] {
		t.Fatalf("unedited replays %v, edited %v: want one unedited replay", plain, ids)
	}
	assertError(t, gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/replay", "", jsonType, []byte(`{"body":"%%","isBase64Encoded":true}`)), 400, "INVALID_REQUEST")
	assertError(t, gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/replay", "", jsonType, []byte(`{"bogus":1}`)), 400, "INVALID_REQUEST")
}
