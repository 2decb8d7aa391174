package runtime

import (
	"net/http"
	"testing"
	"time"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	recs "github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// abortable waits for context.signal to abort (?pid answers its pid).
const abortable = `exports.main = async (event, context) => {
  if ((event.queryStringParameters || {}).pid) return { pid: process.pid };
  console.log('started');
  await new Promise((resolve) => {
    if (context.signal.aborted) return resolve();
    context.signal.addEventListener('abort', resolve, { once: true });
  });
  console.log('aborted: ' + context.signal.reason.message);
  return { aborted: true };
};
`

// TestCancelRunningSignal: cancelling a running async invocation of a Node
// function over the admin API aborts context.signal in its process, which
// is kept; the record ends cancelled after one attempt.
func TestCancelRunningSignal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFunction(t, dir, "abortable", abortable)
	rt, rec := start(t, Config{}, dir)
	pid := func() int {
		t.Helper()
		var r struct{ PID int }
		res, err := invoke(rt, "abortable", 20*time.Second, map[string]string{"pid": "1"})
		result(t, res, err, &r)
		return r.PID
	}
	before := pid()

	s := gt.New(t, route.Route{Domain: "*", Path: "/abortable", Function: "abortable", Mode: "async",
		Timeout: route.Duration(time.Minute), Retry: &route.Retry{MaxAttempts: 3}})
	s.Worker(worker.Config{Concurrency: rt.Concurrency()}, map[string]sdk.Handler{"abortable": rt.Handler("abortable")})
	gw := s.Gateway(gateway.Config{})

	var a struct{ InvocationID string }
	gt.Do(t, "POST", gw.URL+"/abortable", "", nil, nil).JSON(t, &a)
	testenv.Eventually(t, 20*time.Second, "the function runs", func() bool {
		_, ok := rec.find(func(r record) bool { return r.Msg == "started" })
		return ok
	})
	resp := gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+a.InvocationID+"/cancel", "", nil, nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("cancel = %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, 20*time.Second, "context.signal aborted", func() bool {
		_, ok := rec.find(func(r record) bool { return r.Msg == "aborted: the invocation was cancelled" })
		return ok
	})
	var inv recs.Invocation
	testenv.Eventually(t, 20*time.Second, "record cancelled", func() bool {
		gt.Get(t, gw.AdminURL+"/admin/invocations/"+a.InvocationID).JSON(t, &inv)
		return inv.Status == recs.StatusCancelled
	})
	if inv.Attempts != 1 {
		t.Fatalf("cancelled record = %+v, want 1 attempt", inv)
	}
	if n := rec.count(func(r record) bool { return r.Msg == "started" }); n != 1 {
		t.Fatalf("the function started %d times, want 1", n)
	}
	if after := pid(); after != before {
		t.Fatalf("process replaced (%d, then %d): a cancel keeps it", before, after)
	}
}
