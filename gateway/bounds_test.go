package gateway_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
)

// TestAsyncMaxBody: queued bodies have their own limit
// (FNGATE_ASYNC_MAX_BODY), below the sync one, declared or streamed.
func TestAsyncMaxBody(t *testing.T) {
	t.Parallel()
	// Unset, the limit is 1 MiB, or the sync limit if that is lower.
	if got := (gateway.Config{}).WithDefaults().AsyncMaxBody; got != 1<<20 {
		t.Fatalf("default AsyncMaxBody %d", got)
	}
	if got := (gateway.Config{MaxBodyBytes: 1000}).WithDefaults().AsyncMaxBody; got != 1000 {
		t.Fatalf("AsyncMaxBody %d under MaxBodyBytes 1000", got)
	}
	s := gt.New(t, r("*", "/echo", "echo"))
	gw := s.Gateway(gateway.Config{AsyncMaxBody: 1000, MaxBodyBytes: 5000})
	s.Worker(worker.Config{}, builtin.Functions())
	under, over := bytes.Repeat([]byte("u"), 1000), bytes.Repeat([]byte("o"), 1001)
	waitStatus(t, gw, acceptOK(t, gw.URL+"/echo", asyncHeader, string(under)), record.StatusSucceeded, 10*time.Second)
	assertError(t, gt.Do(t, "POST", gw.URL+"/echo", "", asyncHeader, over), http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	// Chunked: no declared length, refused as it arrives.
	req, err := http.NewRequest("POST", gw.URL+"/echo", struct{ *bytes.Reader }{bytes.NewReader(over)})
	if err != nil {
		t.Fatal(err)
	}
	req.Header = asyncHeader.Clone()
	resp, err := gt.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked async body over the limit = %d", resp.StatusCode)
	}
	// A sync call keeps the sync limit.
	if resp := gt.Do(t, "POST", gw.URL+"/echo", "", nil, bytes.Repeat([]byte("s"), 5000)); resp.Status != http.StatusOK {
		t.Fatalf("sync body of 5000 = %d %s", resp.Status, resp.Body)
	}
	assertError(t, gt.Do(t, "POST", gw.URL+"/echo", "", nil, bytes.Repeat([]byte("s"), 5001)), http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
}

// TestQueueFull: a stream at FNGATE_QUEUE_MAX_BYTES refuses accepts with
// 503 QUEUE_FULL and Retry-After (nothing queued, nothing dropped), and
// accepts again once a worker has drained it: on one server (R1) and on
// a three-node cluster (R3).
func TestQueueFull(t *testing.T) {
	t.Parallel()
	t.Run("R1", func(t *testing.T) {
		t.Parallel()
		queueFull(t, gt.New(t, r("*", "/echo", "echo")), 1<<20)
	})
	t.Run("R3", func(t *testing.T) {
		t.Parallel()
		queueFull(t, stackR3(t, r("*", "/echo", "echo")), 1<<20)
	})
	// An unbounded stream on a server out of JetStream storage (its
	// max_file_store, 1 MiB here): QUEUE_FULL too, where it was
	// QUEUE_UNAVAILABLE.
	t.Run("ServerOutOfStorage", func(t *testing.T) {
		t.Parallel()
		s := gt.NewWithNATS(t, testenv.NATSMaxStore(t, 1<<20), r("*", "/echo", "echo"))
		s.DeadMaxBytes = -1 // a bounded stream reserves its bytes: more than the server has
		queueFull(t, s, -1)
	})
}

func queueFull(t *testing.T, s *gt.Stack, maxBytes int64) {
	s.QueueMaxBytes = maxBytes
	gw := s.Gateway(gateway.Config{})
	accepted := fillQueue(t, gw.URL+"/echo", asyncHeader)
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(context.Background(), subject.StreamInvocations)
	if err != nil {
		t.Fatal(err)
	}
	if n := stream.CachedInfo().State.Msgs; n != uint64(len(accepted)) {
		t.Fatalf("stream holds %d messages after %d accepts", n, len(accepted))
	}
	// Every accepted invocation runs; then the queue takes more.
	s.Worker(worker.Config{}, builtin.Functions())
	for _, id := range accepted {
		waitStatus(t, gw, id, record.StatusSucceeded, 20*time.Second)
	}
	testenv.Eventually(t, 10*time.Second, "the stream drained", func() bool {
		info, err := stream.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	waitStatus(t, gw, acceptOK(t, gw.URL+"/echo", asyncHeader, strings.Repeat("x", 200_000)), record.StatusSucceeded, 20*time.Second)
}

// TestAllowAsyncFalse: a route with allowAsync false refuses callers'
// X-Invocation-Type: async or Event and serves sync calls.
func TestAllowAsyncFalse(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"))
	gw := s.Gateway(gateway.Config{})
	s.Worker(worker.Config{}, builtin.Functions())
	put := func(body string) *gt.Response {
		return gt.Do(t, "POST", gw.AdminURL+"/admin/routes", "", http.Header{"Content-Type": {"application/json"}}, []byte(body))
	}
	if resp := put(`{"domain":"*","path":"/sync-only","function":"echo","allowAsync":false}`); resp.Status != http.StatusCreated {
		t.Fatalf("create = %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, 10*time.Second, "the route is served", func() bool {
		return gt.Get(t, gw.URL+"/sync-only").Status == http.StatusOK
	})
	for _, v := range []string{"async", "Event"} {
		assertError(t, gt.Do(t, "POST", gw.URL+"/sync-only", "", http.Header{"X-Invocation-Type": {v}}, nil), http.StatusBadRequest, "ASYNC_NOT_ALLOWED")
	}
	if resp := gt.Do(t, "POST", gw.URL+"/sync-only", "", http.Header{"X-Invocation-Type": {"sync"}}, nil); resp.Status != http.StatusOK {
		t.Fatalf("sync call = %d %s", resp.Status, resp.Body)
	}
	acceptOK(t, gw.URL+"/echo", asyncHeader, "") // absent: allowed
	// An async route that refuses async makes no sense.
	assertError(t, put(`{"domain":"*","path":"/both","function":"echo","mode":"async","allowAsync":false}`), http.StatusBadRequest, "INVALID_ROUTE")
}

// TestDelayedFull: delayed invocations are bounded too
// (FNGATE_DELAYED_MAX_BYTES): once the schedules stream holds the bound,
// a delayed accept gets 503 QUEUE_FULL with Retry-After, and what was
// accepted is kept; an immediate accept still gets in.
func TestDelayedFull(t *testing.T) {
	t.Parallel()
	s := gt.New(t, r("*", "/echo", "echo"))
	const bound = 1 << 20
	gw := s.Gateway(gateway.Config{MaxDelayedBytes: bound})
	accepted := fillQueue(t, gw.URL+"/echo", http.Header{"X-Invocation-Type": {"async"}, "X-Invocation-Delay": {"1h"}})
	if len(accepted) > 5 {
		t.Fatalf("%d delayed accepts of 200 kB into a 1 MiB bound", len(accepted))
	}
	t.Logf("%d delayed accepts of 200 kB before the refusal", len(accepted))
	for _, id := range accepted {
		if inv := publicRecord(t, gw, id); inv.Status != record.StatusScheduled {
			t.Fatalf("accepted %s reads %+v", id, inv)
		}
	}
	if resp := gt.Do(t, "POST", gw.URL+"/echo", "", asyncHeader, []byte("now")); resp.Status != http.StatusAccepted {
		t.Fatalf("an immediate accept beside full delayed ones = %d %s", resp.Status, resp.Body)
	}
	// A keyed accept refused before anything was published releases its
	// key: the same key is refused the same way, never 409 in use.
	keyed := http.Header{"X-Invocation-Type": {"async"}, "X-Invocation-Delay": {"1h"}, "Idempotency-Key": {"delayed-full"}}
	for range 2 {
		assertError(t, gt.Do(t, "POST", gw.URL+"/echo", "", keyed, bytes.Repeat([]byte("x"), 200_000)), http.StatusServiceUnavailable, "QUEUE_FULL")
	}
}

// fillQueue posts async invocations of 200 kB with headers h until one is
// refused, at most 20 (a 1 MiB bound holds five), and checks that the
// refusal is 503 QUEUE_FULL with Retry-After after some accepts; it
// returns the invocation ids accepted.
func fillQueue(t *testing.T, url string, h http.Header) []string {
	t.Helper()
	body := bytes.Repeat([]byte("x"), 200_000)
	var accepted []string
	var full *gt.Response
	for range 20 {
		resp := gt.Do(t, "POST", url, "", h, body)
		if resp.Status != http.StatusAccepted {
			full = resp
			break
		}
		accepted = append(accepted, resp.Header.Get("X-Invocation-Id"))
	}
	if full == nil {
		t.Fatalf("%d accepts of 200 kB into a 1 MiB bound, none refused", len(accepted))
	}
	assertError(t, full, http.StatusServiceUnavailable, "QUEUE_FULL")
	if full.Header.Get("Retry-After") == "" || len(accepted) == 0 {
		t.Fatalf("refusal after %d accepts has no Retry-After: %v", len(accepted), full.Header)
	}
	return accepted
}
