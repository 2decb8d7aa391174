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
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/sdk"
)

// bodyCounter is a function that counts its runs by event body (runCounter
// counts by request id).
type bodyCounter struct {
	mu   sync.Mutex
	runs map[string]int
}

func (c *bodyCounter) handler() sdk.Handler {
	c.runs = map[string]int{}
	return sdk.HandlerFunc(func(_ context.Context, ev *event.Event) (any, error) {
		c.mu.Lock()
		c.runs[ev.Body]++
		c.mu.Unlock()
		return "ok", nil
	})
}

// exactlyOnce waits until each of bodies ran, then checks none ran twice
// and nothing else ran.
func (c *bodyCounter) exactlyOnce(t *testing.T, bodies []string, within time.Duration) {
	t.Helper()
	testenv.Eventually(t, within, fmt.Sprintf("%d invocations ran", len(bodies)), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.runs) >= len(bodies)
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range bodies {
		if c.runs[b] != 1 {
			t.Errorf("invocation %q ran %d times", b, c.runs[b])
		}
	}
	if len(c.runs) != len(bodies) {
		t.Errorf("%d distinct invocations ran, want %d", len(c.runs), len(bodies))
	}
}

// lookupQueued reads GET /invocations/<id> right after the 202: it must
// be known (queued, or further along).
func lookupQueued(t *testing.T, gw *gt.Gateway, id string) *record.PublicInvocation {
	t.Helper()
	inv := publicRecord(t, gw, id)
	if inv.ID != id || inv.Function == "" || inv.CreatedAt.IsZero() {
		t.Fatalf("lookup of %s right after its 202 = %+v", id, inv)
	}
	return inv
}

// Redis down: accepts go on (202), each is found by id from the stream,
// workers hold what they take and run nothing; when Redis is back (with
// its data, or empty) every invocation runs exactly once and succeeds:
// on one server, and (shorter) on a three-node cluster with R3 streams.
// Before Async v2 an accept wrote Redis first: 503 while it was down, and
// the workers' naks spent the attempts of what was queued (WORKER_LOST).
func TestAsyncRedisDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		empty bool // restarted empty, else with the data it saved
		r3    bool // a three-node NATS cluster with R3 streams
		n     int  // accepts, one every 100ms of the outage
	}{{"RestartedEmpty", true, false, 200}, {"RestartedWithData", false, false, 200}, {"R3RestartedEmpty", true, true, 50}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := route.Route{Domain: "*", Path: "/job", Function: "count", Mode: "async", Retry: &route.Retry{MaxAttempts: 1}}
			stack := gt.New
			if tc.r3 {
				stack = stackR3
			}
			s := stack(t, job)
			gw := s.Gateway(gateway.Config{})
			var c bodyCounter
			s.Worker(worker.Config{}, map[string]sdk.Handler{"count": c.handler()})
			// The consumer exists and runs (a cluster just formed may take
			// a while under the whole suite's load: setup, not the test).
			warm := acceptOK(t, gw.URL+"/job", nil, "warm-up")
			c.exactlyOnce(t, []string{"warm-up"}, 30*time.Second)
			waitStatus(t, gw, warm, record.StatusSucceeded, 30*time.Second)

			if !tc.empty {
				// The restarted server loads what it saved (dump.rdb in
				// its directory).
				if err := s.Redis.Client().Save(context.Background()).Err(); err != nil {
					t.Fatal(err)
				}
			}
			s.Redis.Stop()
			// 200 accepts spread over 20 s of outage (fewer on R3).
			n := tc.n
			var bodies, ids []string
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := range n {
				<-tick.C
				body := fmt.Sprint("job-", i)
				id := acceptOK(t, gw.URL+"/job", nil, body)
				bodies, ids = append(bodies, body), append(ids, id)
				if inv := lookupQueued(t, gw, id); inv.Status != record.StatusQueued {
					t.Fatalf("invocation %s while Redis is down = %+v, want queued", id, inv)
				}
			}
			c.mu.Lock()
			ran := len(c.runs)
			c.mu.Unlock()
			if ran != 1 {
				t.Fatalf("%d invocations ran while Redis was down", ran-1)
			}
			if err := s.Redis.Start(); err != nil {
				t.Fatal(err)
			}
			if !tc.empty { // the warm-up's record survived
				var inv record.PublicInvocation
				testenv.Eventually(t, 10*time.Second, "the warm-up's record read back", func() bool {
					resp, err := gt.Try("GET", gw.URL+"/invocations/"+warm, "", nil, nil)
					return err == nil && resp.Status == 200 && json.Unmarshal(resp.Body, &inv) == nil
				})
				if inv.Status != record.StatusSucceeded {
					t.Fatalf("warm-up after the restart = %+v", inv)
				}
			}
			c.exactlyOnce(t, append(bodies, "warm-up"), 2*time.Minute)
			for _, id := range ids {
				inv := waitStatus(t, gw, id, record.StatusSucceeded, 30*time.Second)
				if inv.Attempts != 1 {
					t.Fatalf("invocation %s = %+v, want one attempt", id, inv)
				}
			}
		})
	}
}

// A burst of 2,000 accepts, each looked up right after its 202 while a
// worker takes them: never 404 (the lookup reads Redis, the stream, then
// Redis again, so one taken and acknowledged in between is found).
func TestAsyncLookupRightAfterAccept(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/job", Function: "count", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	var c bodyCounter
	s.Worker(worker.Config{Concurrency: 64}, map[string]sdk.Handler{"count": c.handler()})
	const n, clients = 2000, 8
	var next atomic.Int64
	var mu sync.Mutex
	var bodies []string
	statuses := map[string]int{}
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > n || t.Failed() {
					return
				}
				body := fmt.Sprint("b-", i)
				resp, err := gt.Try("POST", gw.URL+"/job", "", nil, []byte(body))
				if err != nil || resp.Status != 202 {
					t.Errorf("accept %d = %v %v", i, resp, err)
					return
				}
				id := resp.Header.Get("X-Invocation-Id")
				got, err := gt.Try("GET", gw.URL+"/invocations/"+id, "", nil, nil)
				if err != nil || got.Status != 200 {
					t.Errorf("lookup of %s right after its 202 = %v %v", id, got, err)
					return
				}
				var inv record.PublicInvocation
				if err := json.Unmarshal(got.Body, &inv); err != nil || inv.ID != id {
					t.Errorf("lookup of %s = %s", id, got.Body)
					return
				}
				mu.Lock()
				bodies = append(bodies, body)
				statuses[inv.Status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("statuses seen right after the 202: %v", statuses)
	c.exactlyOnce(t, bodies, 2*time.Minute)
}

// maxEventAge: an invocation that waited past it, or whose next retry
// would be due past it, is dead with code EXPIRED and a dead letter; one
// that waited past it never runs: on one server (R1) and on a three-node
// cluster with R3 streams.
func TestAsyncMaxEventAgeExpires(t *testing.T) {
	t.Parallel()
	t.Run("R1", func(t *testing.T) {
		t.Parallel()
		maxEventAgeExpires(t, gt.New)
	})
	t.Run("R3", func(t *testing.T) {
		t.Parallel()
		maxEventAgeExpires(t, stackR3)
	})
}

// stackR3 is a stack on a three-node NATS cluster with R3 streams.
func stackR3(t testing.TB, routes ...route.Route) *gt.Stack {
	nodes := testenv.NATSCluster(t, 3)
	s := gt.NewWithNATS(t, nodes[0], routes...)
	s.URL = testenv.ClientURLs(nodes)
	s.StreamReplicas = 3
	return s
}

func maxEventAgeExpires(t *testing.T, stack func(testing.TB, ...route.Route) *gt.Stack) {
	const age = 1500 * time.Millisecond
	s := stack(t,
		route.Route{Domain: "*", Path: "/wait", Function: "count", Mode: "async", MaxEventAge: route.Duration(age), Retry: &route.Retry{MaxAttempts: 1}},
		route.Route{Domain: "*", Path: "/busy", Function: "busy", Mode: "async", MaxEventAge: route.Duration(age),
			Retry: &route.Retry{MaxAttempts: 5, InitialDelay: route.Duration(100 * time.Millisecond)}},
	)
	gw := s.Gateway(gateway.Config{})
	waited := acceptOK(t, gw.URL+"/wait", nil, "late")
	accepted := time.Now()
	testenv.Eventually(t, 10*time.Second, "maxEventAge passed", func() bool { return time.Since(accepted) > age })
	var c bodyCounter
	var busyRuns atomic.Int64
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"count": c.handler(),
		"busy": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) {
			busyRuns.Add(1)
			return &sdk.Response{StatusCode: 503, Headers: map[string]string{"Retry-After": "5"}}, nil
		}),
	})
	inv := waitStatus(t, gw, waited, record.StatusDead, 20*time.Second)
	if inv.Error == nil || inv.Error.Code != record.CodeExpired || inv.Attempts != 0 {
		t.Fatalf("expired while waiting = %+v", inv)
	}
	c.mu.Lock()
	if len(c.runs) != 0 {
		t.Errorf("an expired invocation ran: %v", c.runs)
	}
	c.mu.Unlock()

	// A retry due after the age: dead at once, after one run.
	busy := acceptOK(t, gw.URL+"/busy", nil, "")
	inv = waitStatus(t, gw, busy, record.StatusDead, 20*time.Second)
	if inv.Error == nil || inv.Error.Code != record.CodeExpired || inv.Attempts != 1 || busyRuns.Load() != 1 {
		t.Fatalf("expired before its retry = %+v after %d runs", inv, busyRuns.Load())
	}
	d := adminRecord(t, gw, busy)
	if len(d.AttemptErrors) != 2 || d.AttemptErrors[0].Code != record.CodeFunctionStatus || d.AttemptErrors[1].Code != record.CodeExpired {
		t.Fatalf("attempt errors = %+v", d.AttemptErrors)
	}
	// Both have a dead letter.
	st := stream(t, s, subject.StreamDead)
	for fn, id := range map[string]string{"count": waited, "busy": busy} {
		subj, _ := subject.Dead(fn)
		m, err := st.GetLastMsgForSubject(context.Background(), subj)
		if err != nil || !strings.Contains(string(m.Data), id) || !strings.Contains(string(m.Data), record.CodeExpired) {
			t.Fatalf("dead letter of %s: %v %v", fn, m, err)
		}
	}
	// A route whose retries cannot all run within its age is refused.
	resp := gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "", http.Header{"Content-Type": {"application/json"}},
		[]byte(`{"domain":"*","path":"/never","function":"f","maxEventAge":"1m","retry":{"maxAttempts":10,"initialDelay":"10s","maxDelay":"1h"}}`))
	if resp.Status != 400 || !strings.Contains(string(resp.Body), "maxEventAge") {
		t.Fatalf("a retry policy longer than maxEventAge = %d %s", resp.Status, resp.Body)
	}
}

// A record whose message is gone (purged here) can be replayed once it
// can no longer be running: refused while its worker's lease is live,
// accepted once it lapsed. Before, a record left running or queued could
// never be replayed.
func TestAsyncReplayWhenMessageGone(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/job", Function: "job", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	// The worker dies mid-run and the message is purged.
	id := killedMidRun(t, s, gw, new(atomic.Int64), "x")
	st := stream(t, s, subject.StreamInvocations)
	if err := st.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	replay := func() *gt.Response {
		return gt.Do(t, "POST", gw.AdminURL+"/admin/invocations/"+id+"/replay", "", nil, nil)
	}
	if inv := adminRecord(t, gw, id); inv.Status == record.StatusRunning && inv.LeaseUntil != nil && time.Until(*inv.LeaseUntil) > 500*time.Millisecond {
		if resp := replay(); resp.Status != 409 {
			t.Fatalf("replay while the lease is live = %d %s", resp.Status, resp.Body)
		}
	}
	var resp *gt.Response
	testenv.Eventually(t, 20*time.Second, "replay accepted once the lease lapsed", func() bool {
		resp = replay()
		return resp.Status == 202
	})
	var acc struct{ InvocationID string }
	resp.JSON(t, &acc)
	s.Worker(worker.Config{}, map[string]sdk.Handler{
		"job": sdk.HandlerFunc(func(context.Context, *event.Event) (any, error) { return "done", nil }),
	})
	inv := waitStatus(t, gw, acc.InvocationID, record.StatusSucceeded, 20*time.Second)
	if inv.Result.Body != "done" || inv.Attempts != 1 {
		t.Fatalf("replay = %+v", inv)
	}
	if d := adminRecord(t, gw, acc.InvocationID); d.ReplayOf != id {
		t.Fatalf("replay record = %+v", d.Invocation)
	}
	// Replayed once: again is the same replay.
	if again := replay(); again.Status != 202 || !strings.Contains(string(again.Body), acc.InvocationID) {
		t.Fatalf("second replay = %d %s", again.Status, again.Body)
	}
}

// A message queued by a gateway before Async v2 (on the function's own
// subject, its id in Fngate-Invocation-Id, its policy in five headers)
// still runs, and its record is made when it is taken.
func TestAsyncLegacyMessageRuns(t *testing.T) {
	t.Parallel()
	s := gt.New(t, route.Route{Domain: "*", Path: "/job", Function: "count", Mode: "async"})
	gw := s.Gateway(gateway.Config{})
	var c bodyCounter
	s.Worker(worker.Config{}, map[string]sdk.Handler{"count": c.handler()})
	acceptOK(t, gw.URL+"/job", nil, "new") // the streams and consumer exist
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	id := record.NewInvocationID()
	subj, _ := subject.Async("count")
	ev := event.AppendRequest(nil, &event.Request{Method: "POST", Path: "/job", Body: []byte("old")})
	msg := &nats.Msg{Subject: subj, Data: ev, Header: nats.Header{
		event.HeaderInvocationID: {id}, event.HeaderRequestID: {"r"}, event.HeaderTimeout: {"15s"},
		event.HeaderMaxAttempts: {"3"}, event.HeaderRetryInitial: {"1s"}, event.HeaderRetryMax: {"1m0s"},
	}}
	if _, err := js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(id)); err != nil {
		t.Fatal(err)
	}
	// (An older gateway wrote the record at accept; this message has
	// none, and its subject carries no id: unknown until taken.)
	var inv record.PublicInvocation
	testenv.Eventually(t, 20*time.Second, "the legacy invocation succeeded", func() bool {
		resp, err := gt.Try("GET", gw.URL+"/invocations/"+id, "", nil, nil)
		return err == nil && resp.Status == 200 && json.Unmarshal(resp.Body, &inv) == nil && inv.Status == record.StatusSucceeded
	})
	if inv.Attempts != 1 || inv.Function != "count" {
		t.Fatalf("legacy invocation = %+v", inv)
	}
	c.exactlyOnce(t, []string{"new", "old"}, 10*time.Second)
}

// stream returns the stack's JetStream stream name.
func stream(t *testing.T, s *gt.Stack, name string) jetstream.Stream {
	t.Helper()
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
