package storetest

import (
	"context"
	"net/http"
	"time"

	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
)

// Routes is a route table: what the gateway's RouteStore asks for, and Put,
// with which the gateway applies a routes file.
type Routes interface {
	Snapshot(ctx context.Context) ([]route.Route, int64, error)
	Version(ctx context.Context) (int64, error)
	Seed(ctx context.Context, rs []route.Route, above int64) (int64, error)
	Changes(ctx context.Context) <-chan struct{}
	Get(ctx context.Context, id string) (*route.Route, error)
	Create(ctx context.Context, r *route.Route) error
	Replace(ctx context.Context, id string, r *route.Route) error
	Delete(ctx context.Context, id string) error
	Put(ctx context.Context, rs []route.Route) error
}

// Invocations keeps invocation records: the gateway's InvocationStore and
// the worker's RecordStore together.
type Invocations interface {
	CreateNew(ctx context.Context, inv *record.Invocation, event []byte) error
	Create(ctx context.Context, inv *record.Invocation, event []byte) (bool, error)
	Get(ctx context.Context, id string) (*record.Invocation, error)
	Event(ctx context.Context, id string) ([]byte, error)
	List(ctx context.Context, f record.Filter) (*record.Page, error)
	ReplayCreated(ctx context.Context, id, replayID string) error

	Start(ctx context.Context, id string, attempt int) (string, error)
	Succeed(ctx context.Context, id string, attempt int, res *record.Result) error
	AttemptFailed(ctx context.Context, id string, ae record.AttemptError, next time.Time) error
	Dead(ctx context.Context, id string, ae record.AttemptError, attempt int) error
	SetCallback(ctx context.Context, id string, cs record.CallbackState) error
}

// Idempotency keeps idempotency keys: the gateway's IdempotencyStore.
type Idempotency interface {
	Claim(ctx context.Context, routeID, scope, fp string, lease time.Duration) (*record.Idempotency, error)
	Complete(ctx context.Context, routeID, scope, fp string, status int, h http.Header, body []byte) error
	Release(ctx context.Context, routeID, scope, fp string) error
}
