package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// TestInvocationsCancelAndEditCLI: "invocations cancel" cancels a queued
// invocation; "invocations replay -body-file" runs the file as the body.
func TestInvocationsCancelAndEditCLI(t *testing.T) {
	s := gt.New(t, route.Route{Domain: "*", Path: "/later", Function: "later", Mode: "async"},
		route.Route{Domain: "*", Path: "/echo", Function: "echo", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions()) // serves echo, not later
	t.Setenv("FNGATE_ADMIN_URL", gw.AdminURL)
	status := func(id, want string) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, id+" "+want, func() bool {
			inv, err := s.Invocations.Get(context.Background(), id)
			return err == nil && inv.Status == want
		})
	}
	accept := func(path string) string {
		var a struct{ InvocationID string }
		gt.Do(t, "POST", gw.URL+path, "", nil, []byte("first")).JSON(t, &a)
		return a.InvocationID
	}

	queued := accept("/later")
	var out strings.Builder
	if err := invocationsCLI([]string{"cancel", queued}, &out); err != nil || out.String() != queued+" cancelled\n" {
		t.Fatalf("cancel: %v\n%s", err, out.String())
	}
	status(queued, record.StatusCancelled)

	done := accept("/echo")
	status(done, record.StatusSucceeded)
	file := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(file, []byte(`{"fixed":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := invocationsCLI([]string{"replay", "-body-file", file, done}, &out); err != nil || !strings.Contains(out.String(), done+" replayed as ") {
		t.Fatalf("replay -body-file: %v\n%s", err, out.String())
	}
	edited := strings.Fields(out.String())[3]
	status(edited, record.StatusSucceeded)
	inv, err := s.Invocations.Get(context.Background(), edited)
	if err != nil || !inv.Edited || inv.ReplayOf != done || !strings.Contains(inv.Result.Body, `{\"fixed\":true}`) {
		t.Fatalf("edited replay = %+v (%v)", inv, err)
	}
	out.Reset()
	if err := invocationsCLI([]string{"cancel", done}, &out); err == nil || !strings.Contains(err.Error(), "409 INVOCATION_ENDED") {
		t.Fatalf("cancel of a finished invocation: %v", err)
	}
}
