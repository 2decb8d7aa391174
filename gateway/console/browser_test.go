package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
)

// chromium finds Debian's Chromium; scripts/test.sh installs it. A missing
// browser fails the test, as a missing redis-server does (testenv): a
// skipped browser test would let a plain "go test ./..." pass with the
// console untested.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found on PATH: run scripts/test.sh, which installs it (apt-get install chromium)")
	return ""
}

// browser starts a headless Chromium with a window of w×h pixels and any
// extra options, stopped at cleanup.
func browser(t *testing.T, w, h int, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(w, h),
		chromedp.UserDataDir(t.TempDir()),
		// A reader east of UTC, so local times differ from the page's UTC.
		chromedp.Env("TZ=Asia/Shanghai"),
	)
	opts = append(opts, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		acancel() // kills the browser and waits for it
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// stepTimeout bounds one step of a test in the browser.
const stepTimeout = 30 * time.Second

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshot saves the page as name.png in the test's artifact directory
// (go test -artifacts keeps it; scripts/test.sh puts it under .artifacts).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(get(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

// signIn signs in with the keyboard only: the token field has focus, Enter
// submits.
func signIn(t *testing.T, ctx context.Context, s *stack, tok string) {
	t.Helper()
	run(t, ctx, "sign in",
		chromedp.Navigate(s.console+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.KeyEvent(tok),
		chromedp.KeyEvent("\r"),
	)
}

// TestBrowserSignIn: the console sends a browser without a session to sign
// in, refuses a wrong token beside the field, and admits the right one.
func TestBrowserSignIn(t *testing.T) {
	s := newStack(t)
	ctx := browser(t, 1280, 800)
	signIn(t, ctx, s, "wrong-token")
	run(t, ctx, "refused", chromedp.WaitVisible(chromedp.CSS("#token-error")))
	if got := text(t, ctx, "#token-error"); got != "That is not the admin token." {
		t.Fatalf("error beside the token: %q", got)
	}
	screenshot(t, ctx, "login-refused")
	signIn(t, ctx, s, token)
	run(t, ctx, "signed in", chromedp.WaitVisible(chromedp.CSS(`a[href="/console/routes/new"]`)))
	loc := get(t, ctx, "location", chromedp.Location())
	if loc != s.console+"/console/routes" {
		t.Fatalf("after sign-in at %s", loc)
	}
	// The session cookie is out of the page's reach.
	cookies := get(t, ctx, "document.cookie", chromedp.Evaluate[string](`document.cookie`))
	if cookies != "" {
		t.Fatalf("document.cookie = %q: the session cookie must be HttpOnly", cookies)
	}
}

// fillRoute fills the New/Edit form.
func fillRoute(function, path string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS("#route-form")),
		chromedp.SetValue(chromedp.CSS("#function"), function),
		chromedp.Click(chromedp.CSS(`input[name=domainKind][value=default]`)),
		chromedp.SetValue(chromedp.CSS("#path"), path),
	)
}

func submitRoute() chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`#route-form button[type=submit]`))
}

// TestBrowserAssociations creates, edits and deletes a domain association
// through the forms, calls it over HTTP after each step, and shows the
// API's validation errors beside the fields without creating anything.
func TestBrowserAssociations(t *testing.T) {
	s := newStack(t)
	other := s.Gateway(gateway.Config{AdminToken: token}) // a second replica follows changes through Redis
	ctx := browser(t, 1280, 900)
	signIn(t, ctx, s, token)
	run(t, ctx, "signed in", chromedp.WaitVisible(chromedp.CSS(`a[href="/console/routes/new"]`)))
	screenshot(t, ctx, "routes-empty")

	// Invalid trigger path: the API's error beside the path field.
	run(t, ctx, "bad path",
		chromedp.Click(chromedp.CSS(`a[href="/console/routes/new"]`)),
		fillRoute("hello", "no-leading-slash"),
		submitRoute(),
		chromedp.WaitVisible(chromedp.CSS("#path-error")),
	)
	if got := text(t, ctx, "#path-error"); !strings.Contains(got, "/") {
		t.Fatalf("path error: %q", got)
	}
	screenshot(t, ctx, "route-form-error")
	// Invalid function name: beside the function field.
	run(t, ctx, "bad function",
		fillRoute("Not A Function!", "/console-hello"),
		submitRoute(),
		chromedp.WaitVisible(chromedp.CSS("#function-error")),
	)
	if got := text(t, ctx, "#function-error"); !strings.Contains(got, "Not A Function!") {
		t.Fatalf("function error: %q", got)
	}
	if n := s.routeCount(t); n != 0 {
		t.Fatalf("invalid forms created %d routes", n)
	}

	// Create, with the keyboard: type into the fields, Enter submits.
	run(t, ctx, "create",
		chromedp.Clear(chromedp.CSS("#function")),
		chromedp.Clear(chromedp.CSS("#path")),
		chromedp.Focus(chromedp.CSS("#function")),
		chromedp.KeyEvent("hello"),
		chromedp.Focus(chromedp.CSS("#path")),
		chromedp.KeyEvent("/console-hello\r"),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if got := text(t, ctx, "#routes tbody"); !strings.Contains(got, "/console-hello") || !strings.Contains(got, "curl") {
		t.Fatalf("routes table after create: %q", got)
	}
	screenshot(t, ctx, "routes")
	// Served by this gateway at once (the admin API reloads its table before
	// answering), and by the other replica soon after.
	if r := gatewaytest.Get(t, s.gw.URL+"/console-hello"); r.Status != 200 || string(r.Body) != "hello from /console-hello" {
		t.Fatalf("created route answers %d %q", r.Status, r.Body)
	}
	eventuallyAnswers(t, other.URL+"/console-hello", 200)

	// Edit: a new trigger path and a method list.
	id := routeID(t, route.Route{Domain: route.DomainDefault, Path: "/console-hello", Function: "hello"})
	run(t, ctx, "edit",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-route=%q] a[href$="/edit"]`, id))),
		chromedp.WaitVisible(chromedp.CSS("#route-form")),
	)
	screenshot(t, ctx, "route-edit")
	run(t, ctx, "save edit",
		chromedp.SetValue(chromedp.CSS("#path"), "/console-edited"),
		chromedp.SetAttributeValue(chromedp.CSS("details.optional"), "open", ""),
		chromedp.Click(chromedp.CSS(`input[name=methods][value=GET]`)),
		submitRoute(),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if r := gatewaytest.Get(t, s.gw.URL+"/console-edited"); r.Status != 200 || string(r.Body) != "hello from /console-edited" {
		t.Fatalf("edited route answers %d %q", r.Status, r.Body)
	}
	if r := gatewaytest.Get(t, s.gw.URL+"/console-hello"); r.Status != 404 {
		t.Fatalf("old path answers %d after the edit", r.Status)
	}
	if r := gatewaytest.Do(t, "POST", s.gw.URL+"/console-edited", "", nil, nil); r.Status != 405 {
		t.Fatalf("POST to a GET-only route answers %d", r.Status)
	}
	eventuallyAnswers(t, other.URL+"/console-edited", 200)

	// Delete, through its confirmation.
	id = routeID(t, route.Route{Domain: route.DomainDefault, Path: "/console-edited", Function: "hello"})
	run(t, ctx, "delete",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-route=%q] a[href$="/delete"]`, id))),
		chromedp.WaitVisible(chromedp.CSS("button.danger")),
		chromedp.Click(chromedp.CSS("button.danger")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if r := gatewaytest.Get(t, s.gw.URL+"/console-edited"); r.Status != 404 {
		t.Fatalf("deleted route answers %d", r.Status)
	}
	eventuallyAnswers(t, other.URL+"/console-edited", 404)
	if n := s.routeCount(t); n != 0 {
		t.Fatalf("%d routes left after delete", n)
	}
}

func routeID(t *testing.T, r route.Route) string {
	t.Helper()
	if err := r.Normalize(); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func eventuallyAnswers(t *testing.T, url string, status int) {
	t.Helper()
	eventually(t, 5*time.Second, func() error {
		if r := gatewaytest.Get(t, url); r.Status != status {
			return fmt.Errorf("%s answers %d, want %d", url, r.Status, status)
		}
		return nil
	})
}

// TestBrowserDeadLetterReplay: an async invocation that keeps failing shows
// up in Invocations as a dead letter with its attempts; once the function is
// fixed, replaying it from its page succeeds, linked to the original. The
// bulk replay of a filter is confirmed first.
func TestBrowserDeadLetterReplay(t *testing.T) {
	s := newStack(t)
	ctx0, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	jobs := route.Route{Domain: route.DomainAny, Path: "/jobs", Function: "flaky", Mode: route.ModeAsync,
		Retry: &route.Retry{MaxAttempts: 2, InitialDelay: route.Duration(10 * time.Millisecond), MaxDelay: route.Duration(20 * time.Millisecond)}}
	if err := s.Routes.Create(ctx0, &jobs); err != nil {
		t.Fatal(err)
	}
	if err := s.gw.SyncRoutes(ctx0); err != nil {
		t.Fatal(err)
	}
	first, second := enqueue(t, s), enqueue(t, s)
	waitStatus(t, s, first, record.StatusDead)
	waitStatus(t, s, second, record.StatusDead)

	ctx := browser(t, 1280, 900)
	signIn(t, ctx, s, token)
	run(t, ctx, "invocations",
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/routes/new"]`)),
		chromedp.Navigate(s.console+"/console/invocations?status=dead&function=flaky"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-invocation=%q]`, first))),
	)
	screenshot(t, ctx, "invocations")
	run(t, ctx, "detail",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-invocation=%q] a`, first))),
		chromedp.WaitVisible(chromedp.CSS("#attempts")),
	)
	attempts := get(t, ctx, "count attempts", chromedp.Evaluate[int](`document.querySelectorAll("#attempts tbody tr").length`))
	if attempts != 2 || !strings.Contains(text(t, ctx, "#attempts"), "downstream is down") {
		t.Fatalf("attempts shown: %d (%q)", attempts, text(t, ctx, "#attempts"))
	}
	if !strings.Contains(text(t, ctx, "#event"), `"path": "/jobs"`) {
		t.Fatalf("event shown: %q", text(t, ctx, "#event"))
	}
	// Attempt times in the reader's zone (UTC+8 here), UTC in the title.
	at := get(t, ctx, "attempt time", chromedp.Evaluate[[]string](`(function () {
		var e = document.querySelector("#attempts time");
		return [e.textContent, e.title, e.dateTime];
	})()`))
	utc, err := time.Parse(time.RFC3339, at[2])
	if err != nil || !strings.Contains(at[0], "GMT+8") || !strings.Contains(at[0], utc.In(time.FixedZone("", 8*3600)).Format("15:04:05")) || at[1] != utc.Format("2006-01-02 15:04:05Z") {
		t.Fatalf("attempt time shown %q, title %q, datetime %q: want UTC+8 and the UTC time on hover", at[0], at[1], at[2])
	}
	screenshot(t, ctx, "invocation-dead")

	s.fixed.Store(true)
	run(t, ctx, "replay one",
		chromedp.Click(chromedp.CSS("#replay")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-replay")),
		chromedp.Click(chromedp.CSS("#confirm-replay")),
		chromedp.WaitVisible(chromedp.CSS("#replay-of")),
	)
	replayLoc := get(t, ctx, "location", chromedp.Location())
	replay := strings.TrimSuffix(replayLoc[strings.LastIndex(replayLoc, "/")+1:], "?done=replayed")
	if got := text(t, ctx, "#replay-of"); got != first {
		t.Fatalf("replay %s links to %q, want %s", replay, got, first)
	}
	waitStatus(t, s, replay, record.StatusSucceeded)
	run(t, ctx, "replay succeeded",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#invocation[data-status="succeeded"]`)),
	)
	screenshot(t, ctx, "invocation-replayed")
	run(t, ctx, "original links to its replay",
		chromedp.Click(chromedp.CSS("#replay-of")),
		chromedp.WaitVisible(chromedp.CSS("#last-replay")),
	)
	if got := text(t, ctx, "#last-replay"); got != replay {
		t.Fatalf("original links to %q, want %s", got, replay)
	}

	// Bulk: the filter's one remaining dead letter, after a confirmation.
	run(t, ctx, "replay all",
		chromedp.Navigate(s.console+"/console/invocations?function=flaky"),
		chromedp.WaitVisible(chromedp.CSS("#replay-dead")),
		chromedp.Click(chromedp.CSS("#replay-dead")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-replay-all")),
	)
	if got := text(t, ctx, "#replay-count"); got != "1" {
		t.Fatalf("bulk replay offers %s dead letters, want 1 (the other was replayed)", got)
	}
	run(t, ctx, "confirm all",
		chromedp.Click(chromedp.CSS("#confirm-replay-all")),
		chromedp.WaitVisible(chromedp.CSS("#replayed")),
	)
	inv, err := s.Invocations.Get(context.Background(), second)
	if err != nil || inv.LastReplay == "" {
		t.Fatalf("second dead letter not replayed: %v %+v", err, inv)
	}
	waitStatus(t, s, inv.LastReplay, record.StatusSucceeded)

	// Functions and the live view, with the traffic above.
	run(t, ctx, "functions",
		chromedp.Navigate(s.console+"/console/functions"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-function="flaky"]`)),
	)
	if got := text(t, ctx, `tr[data-function="flaky"]`); !strings.Contains(got, "/jobs") {
		t.Fatalf("functions row: %q", got)
	}
	// Four failed attempts and two successes, once a heartbeat told.
	eventually(t, 10*time.Second, func() error {
		run(t, ctx, "reload functions", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`tr[data-function="flaky"]`)))
		ok, failed := text(t, ctx, `tr[data-function="flaky"] td.ok-count`), text(t, ctx, `tr[data-function="flaky"] td.error-count`)
		if ok != "2" || failed != "4" {
			return fmt.Errorf("flaky: %s ok, %s errors in the last minute", ok, failed)
		}
		return nil
	})
	screenshot(t, ctx, "functions")
	run(t, ctx, "live",
		chromedp.Navigate(s.console+"/console/live"),
		chromedp.WaitVisible(chromedp.CSS("#live")),
	)
	// Traffic while the page watches: the row of /jobs shows a rate. The
	// script replaces the rows every second, so they are read in one
	// evaluation, not node by node.
	eventually(t, 15*time.Second, func() error {
		enqueue(t, s)
		v := get(t, ctx, "read the live view", chromedp.Evaluate[[]string](`(function () {
			var rate = document.querySelector("#live tbody tr td.rps");
			return [document.getElementById("live-state").textContent, rate ? rate.textContent : "", document.querySelector("#live tbody").textContent];
		})()`))
		state, rate, rows := v[0], v[1], v[2]
		if !strings.HasPrefix(state, "Live, updated") || !strings.HasSuffix(state, "1 gateway.") || rate == "0.0" || rate == "–" || !strings.Contains(rows, "*/jobs") {
			return fmt.Errorf("live view: %q, first rate %q, rows %q", state, rate, rows)
		}
		return nil
	})
	screenshot(t, ctx, "live")
}

// TestBrowserPhoneWidth: at a phone's width no page scrolls sideways.
func TestBrowserPhoneWidth(t *testing.T) {
	s := newStack(t)
	ctx0, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, p := range []string{"/a-rather-long-trigger-path/for/phones", "/hello"} {
		r := route.Route{Domain: "api.example.com", Path: p, Function: "hello", Methods: []string{"POST"}}
		if err := s.Routes.Create(ctx0, &r); err != nil {
			t.Fatal(err)
		}
	}
	ctx := browser(t, 390, 844)
	signIn(t, ctx, s, token)
	run(t, ctx, "signed in", chromedp.WaitVisible(chromedp.CSS(`a[href="/console/routes/new"]`)))
	for _, page := range []string{"routes", "routes/new", "functions", "invocations", "live"} {
		run(t, ctx, page,
			chromedp.Navigate(s.console+"/console/"+page),
			chromedp.WaitVisible(chromedp.CSS("main h1")),
		)
		overflow := get(t, ctx, page+" width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if overflow {
			t.Errorf("%s scrolls sideways at 390px", page)
		}
		screenshot(t, ctx, "phone-"+strings.ReplaceAll(page, "/", "-"))
	}
}

func enqueue(t *testing.T, s *stack) string {
	t.Helper()
	r := gatewaytest.Do(t, "POST", s.gw.URL+"/jobs", "", nil, []byte(`{"job":1}`))
	var acc struct {
		ID string `json:"invocationId"`
	}
	if r.Status != 202 {
		t.Fatalf("enqueue: %d %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &acc); err != nil || acc.ID == "" {
		t.Fatalf("enqueue: %s", r.Body)
	}
	return acc.ID
}

func waitStatus(t *testing.T, s *stack, id, status string) {
	t.Helper()
	eventually(t, 20*time.Second, func() error {
		inv, err := s.Invocations.Get(context.Background(), id)
		if err != nil {
			return err
		}
		if inv.Status != status {
			return fmt.Errorf("%s is %s, want %s", id, inv.Status, status)
		}
		return nil
	})
}

// eventually polls f until it returns nil, failing with its last error
// after d.
func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBrowserNoToken: with no admin token (a loopback admin listener) there
// is no sign-in, and forms still carry and check their CSRF token.
func TestBrowserNoToken(t *testing.T) {
	s := &stack{Stack: gatewaytest.New(t)}
	s.gw = s.Gateway(gateway.Config{})
	s.console = strings.Replace(s.gw.AdminURL, "127.0.0.1", "localhost", 1)
	ctx := browser(t, 1280, 800)
	run(t, ctx, "create without signing in",
		chromedp.Navigate(s.console+"/console/routes/new"),
		fillRoute("hello", "/no-token"),
		submitRoute(),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if n := s.routeCount(t); n != 1 {
		t.Fatalf("%d routes after creating one", n)
	}
	if status, _, _ := newClient(t, s.console).do("POST", "/console/routes", url.Values{"function": {"hello"}, "path": {"/x"}}, nil); status != http.StatusUnauthorized {
		t.Fatalf("post without a session cookie: %d, want 401", status)
	}
}

// TestBrowserSchedules: the Schedules page creates a schedule (an invalid
// interval is refused with the API's message, the form kept), the
// schedule fires (its firings are invocations of the function), and
// Delete, after a confirmation, removes it.
func TestBrowserSchedules(t *testing.T) {
	s := newStack(t)
	ctx := browser(t, 1280, 900)
	signIn(t, ctx, s, token)
	run(t, ctx, "schedules page",
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/routes/new"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/console/schedules"]`)),
		chromedp.WaitVisible(chromedp.CSS("#schedule-form")),
	)
	run(t, ctx, "bad interval",
		chromedp.SetValue(chromedp.CSS("#function"), "hello"),
		chromedp.SetValue(chromedp.CSS("#when"), "10ms"),
		chromedp.Click(chromedp.CSS("#schedule-create")),
		chromedp.WaitVisible(chromedp.CSS("p.error")),
	)
	if got := text(t, ctx, "p.error"); !strings.Contains(got, "every") {
		t.Fatalf("error shown: %q", got)
	}
	if got := get(t, ctx, "function kept", chromedp.Value(chromedp.CSS("#function"))); got != "hello" {
		t.Fatalf("function field after the refusal: %q", got)
	}
	run(t, ctx, "create",
		chromedp.SetValue(chromedp.CSS("#when"), "1s"),
		chromedp.SetValue(chromedp.CSS("#body"), "from the console"),
		chromedp.Click(chromedp.CSS("#schedule-create")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
		chromedp.WaitVisible(chromedp.CSS("#schedules tr[data-schedule]")),
	)
	if got := text(t, ctx, "#schedules tbody"); !strings.Contains(got, "hello") || !strings.Contains(got, "every 1s") {
		t.Fatalf("schedules table: %q", got)
	}
	screenshot(t, ctx, "schedules")
	// It fires: invocations of hello appear.
	eventually(t, 15*time.Second, func() error {
		page, err := s.Invocations.List(context.Background(), record.Filter{Function: "hello"})
		if err == nil && (len(page.Invocations) == 0 || !strings.HasPrefix(page.Invocations[0].Trigger, "schedule:")) {
			err = fmt.Errorf("no firing recorded: %+v", page.Invocations)
		}
		return err
	})
	run(t, ctx, "delete",
		chromedp.Click(chromedp.CSS(`#schedules a.danger`)),
		chromedp.WaitVisible(chromedp.CSS("#schedule-delete")),
		chromedp.Click(chromedp.CSS("#schedule-delete")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
		chromedp.WaitVisible(chromedp.CSS("p.empty")),
	)
}
