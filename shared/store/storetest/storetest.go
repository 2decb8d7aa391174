package storetest

import (
	"context"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
)

// Routes is a route table: what the gateway's RouteStore asks for, and Put,
// with which the gateway applies a routes file.
type Routes interface {
	// Changes, each bumping the version by one.
	Create(ctx context.Context, r *route.Route) error
	Replace(ctx context.Context, id string, r *route.Route) error
	Delete(ctx context.Context, id string) error
	Put(ctx context.Context, rs []route.Route) error
	Apply(ctx context.Context, set []route.Route, del []string) (int64, error)
	// Reads.
	Get(ctx context.Context, id string) (*route.Route, error)
	Snapshot(ctx context.Context) ([]route.Route, int64, error)
	Version(ctx context.Context) (int64, error)
	Epoch(ctx context.Context) (string, error)
	Scan(ctx context.Context, fn func(page []route.Route) error) (int64, error)
	Changes(ctx context.Context) <-chan route.Change
	// Recovery of a lost table.
	Seed(ctx context.Context, rs []route.Route, above int64) (int64, error)
}

// Invocations keeps invocation records: the gateway's InvocationStore and
// the worker's RecordStore together.
type Invocations interface {
	// Creation: fresh ids, and derived ones (replays) that may exist.
	CreateNew(ctx context.Context, inv *record.Invocation, event []byte) error
	Create(ctx context.Context, inv *record.Invocation, event []byte) (bool, error)
	ReplayCreated(ctx context.Context, id, replayID string) error
	// Attempts in the order they happen, guarded by the attempt number:
	// a worker takes an invocation (creating its record), renews its
	// lease while it runs, and records the outcome.
	Take(ctx context.Context, inv *record.Invocation, event []byte, owner string, lease time.Duration, expires time.Time) (string, int, error)
	Renew(ctx context.Context, id string, attempt int, until time.Time) error
	AttemptFailed(ctx context.Context, id string, ae record.AttemptError, next time.Time) error
	Succeed(ctx context.Context, id string, attempt int, res *record.Result) error
	Dead(ctx context.Context, id string, ae record.AttemptError, attempt int) error
	// Cancels: an operator's, and a running attempt stopped by one.
	Cancel(ctx context.Context, id string, inv *record.Invocation, event []byte) (string, error)
	Cancelled(ctx context.Context, id string, attempt int) error
	// The callback's outcome, which never changes the status.
	SetCallback(ctx context.Context, id string, cs record.CallbackState) error
	// Reads.
	Get(ctx context.Context, id string) (*record.Invocation, error)
	Event(ctx context.Context, id string) ([]byte, error)
	List(ctx context.Context, f record.Filter) (*record.Page, error)
}

// Idempotency keeps idempotency keys: the gateway's IdempotencyStore.
type Idempotency interface {
	Claim(ctx context.Context, routeID, scope, fp string, lease time.Duration) (*record.Idempotency, error)
	Complete(ctx context.Context, routeID, scope, fp string, status int, h http.Header, body []byte) error
	Release(ctx context.Context, routeID, scope, fp string) error
}

// run runs each check as a subtest named after it without its suite's
// prefix (idemRelease: "Release"), one after another, each on a store of
// its own.
func run[S any](t *testing.T, newStore func(*testing.T) S, checks ...func(*testing.T, S)) {
	for _, check := range checks {
		name := runtime.FuncForPC(reflect.ValueOf(check).Pointer()).Name()
		name = strings.TrimLeftFunc(name[strings.LastIndexByte(name, '.')+1:], unicode.IsLower)
		t.Run(name, func(t *testing.T) { check(t, newStore(t)) })
	}
}

// parallel calls f(0) to f(n-1) at once and fails t with an error any of
// them returned.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- f(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
