package console_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/codestore/codetest"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/deploy/deploytest"
)

// TestBrowserDeploy: on a function's page an operator uploads a .tar.gz
// of its folder, sees the worker switch to it, uploads a second version,
// and rolls back to the first.
func TestBrowserDeploy(t *testing.T) {
	st := gatewaytest.New(t)
	st.Code = true
	gw := st.Gateway(gateway.Config{AdminToken: token})
	s := &stack{Stack: st, gw: gw, console: strings.Replace(gw.AdminURL, "127.0.0.1", "localhost", 1)}
	deploytest.Worker(t, st, worker.Config{})
	dir := t.TempDir()
	archive := func(v string) string {
		p := filepath.Join(dir, "v"+v+".tar.gz")
		b := codetest.TarGz(codetest.File("index.js", "exports.main = async () => ({ v: "+v+" });\n"))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := browser(t, 1280, 900)
	signIn(t, ctx, s, token)
	run(t, ctx, "signed in", chromedp.WaitVisible(chromedp.CSS(`a[href="/console/routes/new"]`)))
	page := s.console + "/console/functions/hello"
	// runs waits until the page, reloaded, shows the worker running v.
	runs := func(v string) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, "the worker runs version "+v, func() bool {
			run(t, ctx, "reload", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#function")))
			return get(t, ctx, "workers", chromedp.Evaluate[bool](`document.querySelector('#workers tr[data-version="`+v+`"]') !== null`))
		})
	}
	for _, v := range []string{"1", "2"} {
		run(t, ctx, "upload version "+v,
			chromedp.Navigate(page),
			chromedp.WaitVisible(chromedp.CSS("#archive")),
			chromedp.SetUploadFiles(chromedp.CSS("#archive"), []string{archive(v)}),
			chromedp.Click(chromedp.CSS("#upload")),
			chromedp.WaitVisible(chromedp.CSS(`#function[data-current="`+v+`"]`)),
		)
		if n := text(t, ctx, ".notice"); !strings.Contains(n, "Version "+v+" stored") {
			t.Fatalf("notice after upload: %q", n)
		}
		runs(v)
	}
	screenshot(t, ctx, "function-deployed")
	run(t, ctx, "roll back to version 1",
		chromedp.Click(chromedp.CSS("#rollback-1")),
		chromedp.WaitVisible(chromedp.CSS(`#function[data-current="1"]`)),
	)
	runs("1")
	if r := gatewaytest.Do(t, "GET", gw.AdminURL+"/admin/functions/hello", "", map[string][]string{"Authorization": {"Bearer " + token}}, nil); !strings.Contains(string(r.Body), `"current":1`) {
		t.Fatalf("after the rollback: %d %s", r.Status, r.Body)
	}
}
