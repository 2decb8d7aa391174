package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
)

// TestBrowserCancelEditCap: an operator cancels a queued invocation from
// its page after a confirmation, replays a finished one with its body
// edited in the Replay page, and sets a function's max concurrency on the
// Functions page.
func TestBrowserCancelEditCap(t *testing.T) {
	s := newStack(t)
	s.fixed.Store(true)
	ctx0, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, rt := range []route.Route{
		{Domain: route.DomainAny, Path: "/later", Function: "later", Mode: route.ModeAsync}, // no worker serves it
		{Domain: route.DomainAny, Path: "/jobs", Function: "flaky", Mode: route.ModeAsync},
	} {
		if err := s.Routes.Create(ctx0, &rt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.gw.SyncRoutes(ctx0); err != nil {
		t.Fatal(err)
	}
	var acc struct {
		ID string `json:"invocationId"`
	}
	gatewaytest.Do(t, "POST", s.gw.URL+"/later", "", nil, nil).JSON(t, &acc)
	queued := acc.ID

	ctx := browser(t, 1280, 900)
	signIn(t, ctx, s, token)
	run(t, ctx, "cancel",
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/routes/new"]`)),
		chromedp.Navigate(s.console+"/console/invocations/"+queued),
		chromedp.WaitVisible(chromedp.CSS(`#invocation[data-status="queued"]`)),
		chromedp.Click(chromedp.CSS("#cancel")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-cancel")),
		chromedp.Click(chromedp.CSS("#confirm-cancel")),
		chromedp.WaitVisible(chromedp.CSS(`#invocation[data-status="cancelled"]`)),
	)
	waitStatus(t, s, queued, record.StatusCancelled)

	done := enqueue(t, s)
	waitStatus(t, s, done, record.StatusSucceeded)
	run(t, ctx, "replay page",
		chromedp.Navigate(s.console+"/console/invocations/"+done+"/replay"),
		chromedp.WaitVisible(chromedp.CSS("#body")),
	)
	if got := get(t, ctx, "original body", chromedp.Evaluate[string](`document.getElementById("body").value`)); got != `{"job":1}` {
		t.Fatalf("replay page offers body %q, want the original", got)
	}
	run(t, ctx, "edited replay",
		chromedp.SetValue(chromedp.CSS("#body"), `{"job":2}`),
		chromedp.Click(chromedp.CSS("#confirm-replay")),
		chromedp.WaitVisible(chromedp.CSS("#replay-of")),
	)
	loc := get(t, ctx, "location", chromedp.Location())
	replay := strings.TrimSuffix(loc[strings.LastIndex(loc, "/")+1:], "?done=replayed")
	waitStatus(t, s, replay, record.StatusSucceeded)
	inv, err := s.Invocations.Get(context.Background(), replay)
	if err != nil || !inv.Edited || inv.ReplayOf != done {
		t.Fatalf("edited replay record = %+v, %v", inv, err)
	}
	raw, _ := s.Invocations.Event(context.Background(), replay)
	if ev, err := event.Decode(raw); err != nil || ev.Body != `{"job":2}` {
		t.Fatalf("edited replay ran event %s (%v)", raw, err)
	}

	row := `tr[data-function="later"] `
	run(t, ctx, "max concurrency",
		chromedp.Navigate(s.console+"/console/functions"),
		chromedp.WaitVisible(chromedp.CSS(row+"input.max-concurrency")),
		chromedp.SetValue(chromedp.CSS(row+"input.max-concurrency"), "3"),
		chromedp.Click(chromedp.CSS(row+"button.save-cap")),
		chromedp.WaitVisible(chromedp.CSS(row+`input.max-concurrency[value="3"]`)),
	)
	if f, err := s.Functions.Get(context.Background(), "later"); err != nil || f.MaxConcurrency != 3 {
		t.Fatalf("later's settings = %+v, %v; want maxConcurrency 3", f, err)
	}
	screenshot(t, ctx, "functions-cap")
}
