package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

func key(k string) http.Header { return http.Header{"Idempotency-Key": {k}} }

// counter is a function that counts its runs and answers with the run
// number, after an optional pause.
type counter struct {
	runs  atomic.Int64
	pause time.Duration
}

func (c *counter) Invoke(ctx context.Context, ev *event.Event) (any, error) {
	n := c.runs.Add(1)
	if c.pause > 0 {
		time.Sleep(c.pause) // the work itself, not a wait for state
	}
	if ev.QueryStringParameters["status"] == "500" {
		return &event.Response{StatusCode: 500, Headers: map[string]string{"X-Run": fmt.Sprint(n)}, Body: "declined"}, nil
	}
	return &event.Response{StatusCode: 201, Headers: map[string]string{"X-Run": fmt.Sprint(n)}, Body: fmt.Sprintf(`{"run":%d,"body":%q}`, n, ev.Body)}, nil
}

// counterStack serves c as the function of rt, on a new stack with one
// gateway and one worker.
func counterStack(t *testing.T, rt route.Route, c *counter) (*gt.Stack, *gt.Gateway) {
	t.Helper()
	s := gt.New(t, rt)
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, map[string]sdk.Handler{rt.Function: c})
	return s, gw
}

func TestIdempotencyConcurrentRunsOnce(t *testing.T) {
	t.Parallel()
	pay := &counter{pause: 300 * time.Millisecond}
	_, gw := counterStack(t, r("*", "/pay", "pay"), pay)

	const n = 50
	resps := make([]*gt.Response, n)
	var wg sync.WaitGroup
	for i := range resps {
		wg.Go(func() { resps[i] = try(t, "POST", gw.URL+"/pay", key("order-1"), []byte(`{"amount":5}`)) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var first string
	ok, conflicts := 0, 0
	for _, resp := range resps {
		switch resp.Status {
		case 201:
			ok++
			if first == "" {
				first = string(resp.Body)
			}
			if string(resp.Body) != first {
				t.Fatalf("a caller got a different result: %s vs %s", resp.Body, first)
			}
		case 409:
			conflicts++
			assertError(t, resp, 409, "IDEMPOTENCY_KEY_IN_USE")
			if resp.Header.Get("Retry-After") == "" {
				t.Error("409 without Retry-After")
			}
		default:
			t.Fatalf("unexpected %d %s", resp.Status, resp.Body)
		}
	}
	if pay.runs.Load() != 1 || ok < 1 {
		t.Fatalf("function ran %d times; %d ok, %d conflicts", pay.runs.Load(), ok, conflicts)
	}
	// Once finished, the same key replays the stored response.
	resp := gt.Do(t, "POST", gw.URL+"/pay", "", key("order-1"), []byte(`{"amount":5}`))
	if resp.Status != 201 || string(resp.Body) != `{"run":1,"body":"{\"amount\":5}"}` || resp.Header.Get("Idempotent-Replayed") != "true" ||
		resp.Header.Get("X-Run") != "1" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("replay = %d %s %v", resp.Status, resp.Body, resp.Header)
	}
	if pay.runs.Load() != 1 {
		t.Fatalf("replay ran the function")
	}
	t.Logf("50 concurrent: %d got the result, %d got 409", ok, conflicts)
}

func TestIdempotencySemantics(t *testing.T) {
	t.Parallel()
	s := gt.New(t,
		r("*", "/a", "a"), r("*", "/b", "b"),
		route.Route{Domain: "*", Path: "/must", Function: "a", Idempotency: &route.Idempotency{Required: true}},
		route.Route{Domain: "*", Path: "/tenant", Function: "a", Idempotency: &route.Idempotency{ScopeByCaller: true}},
		route.Route{Domain: "*", Path: "/wait", Function: "slow", Idempotency: &route.Idempotency{Wait: true}},
		route.Route{Domain: "*", Path: "/late", Function: "late"},
	)
	gw := s.Gateway(gateway.Config{NoWorkerWait: 200 * time.Millisecond})
	a, b, slow := &counter{}, &counter{}, &counter{pause: 400 * time.Millisecond}
	s.Worker(worker.Config{}, map[string]sdk.Handler{"a": a, "b": b, "slow": slow})

	// Different payload, same key: 422, nothing runs.
	gt.Do(t, "POST", gw.URL+"/a", "", key("k1"), []byte("x"))
	assertError(t, gt.Do(t, "POST", gw.URL+"/a", "", key("k1"), []byte("y")), 422, "IDEMPOTENCY_KEY_MISMATCH")
	assertError(t, gt.Do(t, "POST", gw.URL+"/a?q=1", "", key("k1"), []byte("x")), 422, "IDEMPOTENCY_KEY_MISMATCH")
	if a.runs.Load() != 1 {
		t.Fatalf("a ran %d times", a.runs.Load())
	}
	// Keys are scoped by route.
	gt.Do(t, "POST", gw.URL+"/b", "", key("k1"), []byte("x"))
	if b.runs.Load() != 1 {
		t.Fatal("the same key on another route did not run")
	}
	// A function's own 5xx is stored and replayed.
	first := gt.Do(t, "POST", gw.URL+"/a?status=500", "", key("k500"), nil)
	again := gt.Do(t, "POST", gw.URL+"/a?status=500", "", key("k500"), nil)
	if first.Status != 500 || again.Status != 500 || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != "declined" || a.runs.Load() != 2 {
		t.Fatalf("stored 500: %d / %d %v, runs %d", first.Status, again.Status, again.Header, a.runs.Load())
	}
	// Invalid keys.
	for _, h := range []http.Header{key(strings.Repeat("k", 256)), key("caf\xc3\xa9"), {"Idempotency-Key": {"a", "b"}}} {
		assertError(t, gt.Do(t, "POST", gw.URL+"/a", "", h, nil), 400, "INVALID_IDEMPOTENCY_KEY")
	}
	if resp := gt.Do(t, "POST", gw.URL+"/a", "", key(strings.Repeat("k", 255)), nil); resp.Status != 201 {
		t.Fatalf("255-character key = %d", resp.Status)
	}
	// Required.
	assertError(t, gt.Do(t, "POST", gw.URL+"/must", "", nil, nil), 400, "INVALID_IDEMPOTENCY_KEY")
	// Scoped by caller: another Authorization runs again, the same replays.
	runs := a.runs.Load()
	alice := http.Header{"Idempotency-Key": {"t1"}, "Authorization": {"Bearer alice"}}
	bob := http.Header{"Idempotency-Key": {"t1"}, "Authorization": {"Bearer bob"}}
	gt.Do(t, "POST", gw.URL+"/tenant", "", alice, nil)
	gt.Do(t, "POST", gw.URL+"/tenant", "", bob, nil)
	if resp := gt.Do(t, "POST", gw.URL+"/tenant", "", alice, nil); resp.Header.Get("Idempotent-Replayed") != "true" || a.runs.Load() != runs+2 {
		t.Fatalf("caller scoping: runs %d, replayed %q", a.runs.Load()-runs, resp.Header.Get("Idempotent-Replayed"))
	}
	// Wait: the second caller waits for the first result instead of 409.
	var wg sync.WaitGroup
	res := make([]*gt.Response, 2)
	for i := range res {
		wg.Go(func() { res[i] = try(t, "POST", gw.URL+"/wait", key("w1"), nil) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if res[0].Status != 201 || res[1].Status != 201 || string(res[0].Body) != string(res[1].Body) || slow.runs.Load() != 1 {
		t.Fatalf("wait: %d %s / %d %s, runs %d", res[0].Status, res[0].Body, res[1].Status, res[1].Body, slow.runs.Load())
	}
	// A gateway-side failure is not stored: the retry runs.
	assertError(t, gt.Do(t, "POST", gw.URL+"/late", "", key("L"), nil), 503, "NO_WORKER")
	late := &counter{}
	s.Worker(worker.Config{}, map[string]sdk.Handler{"late": late})
	if resp := gt.Do(t, "POST", gw.URL+"/late", "", key("L"), nil); resp.Status != 201 || late.runs.Load() != 1 {
		t.Fatalf("retry after 503 = %d, runs %d", resp.Status, late.runs.Load())
	}
}

func TestIdempotencyExpiry(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/a", "a"))
	s.Idempotency = store.NewIdempotency(s.Redis.Client(), 300*time.Millisecond)
	gw := s.Gateway(gateway.Config{})
	a := &counter{}
	s.Worker(worker.Config{}, map[string]sdk.Handler{"a": a})
	gt.Do(t, "POST", gw.URL+"/a", "", key("e"), nil)
	if resp := gt.Do(t, "POST", gw.URL+"/a", "", key("e"), nil); resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("no replay before expiry")
	}
	testenv.Eventually(t, 5*time.Second, "key expired and the request ran again", func() bool {
		gt.Do(t, "POST", gw.URL+"/a", "", key("e"), nil)
		return a.runs.Load() == 2
	})
}

func TestIdempotencyRedisOutage(t *testing.T) {
	t.Parallel()
	s := gt.New(t,
		route.Route{Domain: "*", Path: "/a", Function: "a", Timeout: route.Duration(2 * time.Second)},
		route.Route{Domain: "*", Path: "/open", Function: "a", Idempotency: &route.Idempotency{FailOpen: true}},
	)
	gw := s.Gateway(gateway.Config{})
	a := &counter{}
	s.Worker(worker.Config{}, map[string]sdk.Handler{"a": a})
	if resp := gt.Do(t, "POST", gw.URL+"/a", "", key("before"), nil); resp.Status != 201 {
		t.Fatal(resp.Status)
	}
	s.Redis.Stop()
	start := time.Now()
	assertError(t, gt.Do(t, "POST", gw.URL+"/a", "", key("during"), nil), 503, "IDEMPOTENCY_UNAVAILABLE")
	// The promise: the answer comes by the route's 2s deadline, not after
	// go-redis's dial timeouts and retries. Slack for -race on two cores.
	d := time.Since(start)
	t.Logf("fail-closed answer after %s (route deadline 2s)", d)
	if d > 5*time.Second {
		t.Fatalf("fail-closed answer took %s, past the 2s deadline", d)
	}
	if resp := gt.Do(t, "POST", gw.URL+"/a", "", nil, nil); resp.Status != 201 {
		t.Fatalf("unkeyed request with Redis down = %d", resp.Status)
	}
	if resp := gt.Do(t, "POST", gw.URL+"/open", "", key("during"), nil); resp.Status != 201 {
		t.Fatalf("fail-open route with Redis down = %d", resp.Status)
	}
	if err := s.Redis.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "keyed requests recover", func() bool {
		return gt.Do(t, "POST", gw.URL+"/a", "", key("after"), nil).Status == 201
	})
	if resp := gt.Do(t, "POST", gw.URL+"/a", "", key("after"), nil); resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("no replay after recovery")
	}
}

func TestIdempotencyAsync(t *testing.T) {
	t.Parallel()
	job := &counter{}
	s, gw := counterStack(t, route.Route{Domain: "*", Path: "/job", Function: "job", Mode: "async"}, job)
	id := acceptOK(t, gw.URL+"/job", key("j1"), "payload")
	resp := gt.Do(t, "POST", gw.URL+"/job", "", key("j1"), []byte("payload"))
	if resp.Status != 202 || resp.Header.Get("X-Invocation-Id") != id || resp.Header.Get("Idempotent-Replayed") != "true" ||
		!strings.Contains(string(resp.Body), id) {
		t.Fatalf("second async accept = %d %s %v", resp.Status, resp.Body, resp.Header)
	}
	waitStatus(t, gw, id, record.StatusSucceeded, 10*time.Second)
	// Nothing else was queued: the function ran once.
	js, _ := jetstream.New(testenv.Conn(t, s.NATS))
	waitQueueEmpty(t, js, "job", 1)
	if job.runs.Load() != 1 {
		t.Fatalf("job ran %d times", job.runs.Load())
	}
}

// A redelivery that comes after a lost ack finds the record succeeded and
// is acknowledged without running the function again.
func TestAsyncLostAckRedelivery(t *testing.T) {
	t.Parallel()
	job := &counter{}
	s, gw := counterStack(t, route.Route{Domain: "*", Path: "/job", Function: "job", Mode: "async"}, job)
	id := acceptOK(t, gw.URL+"/job", nil, "x")
	waitStatus(t, gw, id, record.StatusSucceeded, 10*time.Second)
	// The same invocation arrives again, as JetStream redelivers a message
	// whose ack was lost (a new Nats-Msg-Id gets it past deduplication).
	nc := testenv.Conn(t, s.NATS)
	js, _ := jetstream.New(nc)
	subj, _ := subject.Async("job")
	ev, _ := json.Marshal(event.Event{Body: "x"})
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: subj, Data: ev, Header: nats.Header{event.HeaderInvocationID: {id}}}, jetstream.WithMsgID("redelivery-of-"+id)); err != nil {
		t.Fatal(err)
	}
	waitQueueEmpty(t, js, "job", 2) // the redelivery was acknowledged
	if n := job.runs.Load(); n != 1 {
		t.Fatalf("function ran %d times", n)
	}
	if inv := publicRecord(t, gw, id); inv.Status != record.StatusSucceeded || inv.Attempts != 1 {
		t.Fatalf("record after redelivery = %+v", inv)
	}
}

// waitQueueEmpty waits until function's consumer has delivered at least
// delivered messages and has none pending or unacknowledged.
func waitQueueEmpty(t *testing.T, js jetstream.JetStream, function string, delivered uint64) {
	t.Helper()
	cname, _ := subject.Consumer(function)
	testenv.Eventually(t, 10*time.Second, function+" queue drained", func() bool {
		c, err := js.Consumer(context.Background(), subject.StreamInvocations, cname)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.Delivered.Stream >= delivered && info.NumPending == 0 && info.NumAckPending == 0
	})
}

// try is gt.Do for goroutines other than the test's: it reports a failed
// request with t.Error (t.Fatal would end only the goroutine) and returns
// an empty response.
func try(t *testing.T, method, url string, header http.Header, body []byte) *gt.Response {
	resp, err := gt.Try(method, url, "", header, body)
	if err != nil {
		t.Error(err)
		return &gt.Response{}
	}
	return resp
}
