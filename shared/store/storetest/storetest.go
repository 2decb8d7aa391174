package storetest

import (
	"context"
	"net/http"
	"testing"
	"time"

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

// check is one subtest of a suite.
type check[S any] struct {
	name string
	run  func(*testing.T, S)
}

// run runs each check, one after another, on a store of its own.
func run[S any](t *testing.T, newStore func(*testing.T) S, checks []check[S]) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}
