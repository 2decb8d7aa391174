package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
)

// TestWorkerDefaults runs the worker command as a production image does:
// no FNGATE_BUILTINS, Node.js functions from FNGATE_FUNCTIONS_DIR, and
// secrets in its environment. The demo built-ins are not served, and a
// function's process.env holds only the allowlist, the names in
// FNGATE_FUNCTION_ENV and the function's own fngate.json variables.
func TestWorkerDefaults(t *testing.T) {
	ns := testenv.NATS(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "env"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"index.js":    "exports.main = async () => ({ env: process.env });\n",
		"fngate.json": `{"env": {"GREETING": "hi"}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, "env", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{
		"FNGATE_BUILTINS":        "",
		"FNGATE_NATS_URL":        ns.ClientURL(),
		"FNGATE_FUNCTIONS_DIR":   dir,
		"FNGATE_FUNCTION_ENV":    "PASS_ME",
		"FNGATE_REDIS_URL":       "redis://:hunter2@127.0.0.1:1/0",
		"FNGATE_ADMIN_TOKEN":     "hunter2-hunter2-hunter2",
		"REDIS_PASSWORD":         "hunter2",
		"SECRET_X":               "hunter2",
		"PASS_ME":                "passed",
		"NODE_ENV":               "production",
		"FNGATE_FUNCTION_SECRET": "hunter2",
	} {
		t.Setenv(k, v)
	}
	o, err := parse([]string{"-async", "off", "-metrics-addr", ""})
	if err != nil {
		t.Fatal(err)
	}
	o.w.Logger = slog.New(slog.DiscardHandler)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, o) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker exit: %v", err)
		}
	}()

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	call := func(fn string) (*nats.Msg, error) {
		subj, _ := subject.Invoke(fn)
		ev := &event.Event{Path: "/" + fn, HTTPMethod: "GET"}
		return nc.Request(subj, ev.AppendJSON(nil), 5*time.Second)
	}
	reply := awaitReply(t, done, 30*time.Second, "the worker serves the Node.js function", func() (*nats.Msg, error) { return call("env") })
	status, body, err := event.ParseReply(reply, http.Header{})
	if err != nil || status != 200 {
		t.Fatalf("env: %d %s %v", status, body, err)
	}
	var got struct{ Env map[string]string }
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), "hunter2") {
		t.Errorf("the function sees a secret of the worker's environment: %s", body)
	}
	for k := range got.Env {
		switch {
		case k == "PATH" || k == "HOME" || k == "LANG" || k == "TZ" || strings.HasPrefix(k, "NODE_"):
		case k == "PASS_ME" || k == "GREETING":
		default:
			t.Errorf("the function sees %s", k)
		}
	}
	if got.Env["PASS_ME"] != "passed" || got.Env["GREETING"] != "hi" || got.Env["NODE_ENV"] != "production" {
		t.Errorf("process.env = %v: want PASS_ME, GREETING and NODE_ENV", got.Env)
	}

	// No demo built-in answers; a request for one finds no worker.
	for _, fn := range []string{"fail", "panic", "sleep", "cpu", "echo"} {
		if _, err := call(fn); !errors.Is(err, nats.ErrNoResponders) {
			t.Errorf("built-in %s: err = %v, want no responders (not served by default)", fn, err)
		}
	}
}

// TestWorkerFunctionUIDFlag: FNGATE_FUNCTION_UID reaches the Node.js
// runtime's configuration, and a bad value stops the command.
func TestWorkerFunctionUIDFlag(t *testing.T) {
	for in, want := range map[string][2]int{"20000": {20000, 0}, "20000+": {20000, 1}} {
		o, err := parse([]string{"-function-uid", in})
		if err != nil || o.node.UID != want[0] || o.node.UIDPerFunction != (want[1] == 1) {
			t.Errorf("-function-uid %s: %+v, %v", in, o, err)
		}
	}
	if _, err := parse([]string{"-function-uid", "root"}); err == nil || !strings.Contains(err.Error(), "FNGATE_FUNCTION_UID") {
		t.Errorf("-function-uid root: err = %v", err)
	}
}
