package adminapi

import (
	"context"
	"encoding/json"

	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/schedule"
)

// OpenAPIPath is where the admin listener serves the API's OpenAPI 3.1
// description (no token needed), linked from the console.
const OpenAPIPath = "/admin/openapi.json"

// API is the admin API. Every method's error is an [*Error].
type API interface {
	// Routes is GET /admin/routes: one page of the routes q selects,
	// sorted by domain and path.
	Routes(ctx context.Context, q RouteQuery) (*RouteList, error)
	// Route is GET /admin/routes/{id}.
	Route(ctx context.Context, id string) (*route.Route, error)
	// CreateRoute is POST /admin/routes: r is normalised in place (its ID
	// set) and served by this gateway on return.
	CreateRoute(ctx context.Context, r *route.Route) error
	// ReplaceRoute is PUT /admin/routes/{id}; its domain and path may change.
	ReplaceRoute(ctx context.Context, id string, r *route.Route) error
	// DeleteRoute is DELETE /admin/routes/{id}.
	DeleteRoute(ctx context.Context, id string) error
	// Functions is GET /admin/functions: one page of the functions live
	// workers serve or that have settings (maxConcurrency), sorted by name.
	Functions(ctx context.Context, q FunctionQuery) (*FunctionList, error)
	// SetFunction is PUT /admin/functions/{name}: the function's settings
	// (maxConcurrency).
	SetFunction(ctx context.Context, f route.Function) (*route.Function, error)
	// Function is GET /admin/functions/{name}: its deployed versions, the
	// one each live worker runs, and load errors.
	Function(ctx context.Context, name string) (*FunctionDetail, error)
	// Deploy is PUT /admin/functions/{name}/code: archive (.tar.gz or
	// .zip of the function's folder) becomes its next version, which
	// every worker serving the function switches to.
	Deploy(ctx context.Context, name string, archive []byte) (*FunctionDetail, error)
	// Rollback is POST /admin/functions/{name}/rollback: an earlier
	// version serves again.
	Rollback(ctx context.Context, name string, version int64) (*FunctionDetail, error)
	// Invocations is GET /admin/invocations: one page of records (at most
	// 500) matching f.
	Invocations(ctx context.Context, f Filter) (*record.Page, error)
	// Invocation is GET /admin/invocations/{id}.
	Invocation(ctx context.Context, id string) (*InvocationDetail, error)
	// Replay is POST /admin/invocations/{id}/replay.
	Replay(ctx context.Context, id string) (*Accepted, error)
	// ReplayEdited is POST /admin/invocations/{id}/replay with a body: a
	// new invocation of id's event changed by e (replayOf id, edited),
	// every time it is called.
	ReplayEdited(ctx context.Context, id string, e *Edit) (*Accepted, error)
	// Cancel is POST /admin/invocations/{id}/cancel: Status "cancelled"
	// (it waited: it never runs) or "cancelling" (its running attempt is
	// being stopped).
	Cancel(ctx context.Context, id string) (*Cancelled, error)
	// ReplayMany is POST /admin/invocations/replay: every record matching f
	// (status defaults to dead) that was not replayed before, looking at
	// up to f.Limit records (default 100, at most 1000).
	ReplayMany(ctx context.Context, f Filter) (*Replayed, error)
	// Stats is GET /admin/stats: this gateway's request counts.
	Stats(ctx context.Context) (*GatewayStats, error)
	// AllStats is GET /admin/stats/gateways: every gateway's, gathered
	// over NATS.
	AllStats(ctx context.Context) (*AllStats, error)
	// Schedules is GET /admin/schedules: every schedule, by id.
	Schedules(ctx context.Context) ([]*schedule.Schedule, error)
	// CreateSchedule is POST /admin/schedules: s is normalised in place
	// (its id generated when empty) and fires from now on.
	CreateSchedule(ctx context.Context, s *schedule.Schedule) error
	// DeleteSchedule is DELETE /admin/schedules/{id}.
	DeleteSchedule(ctx context.Context, id string) error
}

// Page sizes of the lists.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// RouteQuery selects a page of routes: the query parameters of GET
// /admin/routes. Every filter is optional; they combine with and.
type RouteQuery struct {
	// Domain lists only this domain ("default", "*" or a host name).
	Domain string `json:"domain,omitempty" form:"domain"`
	// Path keeps routes whose trigger path starts with it ("/api" keeps
	// /api, /api/users and /apix).
	Path string `json:"path,omitempty" form:"path"`
	// Function keeps the routes of this function.
	Function string `json:"function,omitempty" form:"function"`
	Page
}

// Page is where a page of a list starts and how long it is.
type Page struct {
	// Cursor is the NextCursor of the previous page: an opaque string.
	Cursor string `json:"cursor,omitempty" form:"cursor"`
	// Limit is the most items in the page: DefaultLimit when 0, at most
	// MaxLimit.
	Limit int `json:"limit,omitempty" form:"limit"`
}

// RouteList is one page of routes, with the version of the table it was
// read from. NextCursor, when not empty, fetches the next page with the
// same filters; the last page has none.
type RouteList struct {
	Routes     []route.Route `json:"routes"`
	Version    int64         `json:"version"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

// FunctionQuery selects a page of functions: the query parameters of GET
// /admin/functions.
type FunctionQuery struct {
	Page
}

// FunctionList is one page of the functions some live worker serves, by
// name. NextCursor, when not empty, fetches the next page.
type FunctionList struct {
	Functions  []FunctionLoad `json:"functions"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

// FunctionLoad is one function as the live workers serve it.
type FunctionLoad struct {
	Function string `json:"function"`
	// Workers counts live workers serving it; InFlight sums their running
	// invocations; Concurrency sums their limits.
	Workers     int   `json:"workers"`
	InFlight    int64 `json:"inflight"`
	Concurrency int   `json:"concurrency"`
	// RecentOK and RecentErrors sum the invocations the live workers
	// finished in the last 60 seconds, as of their latest heartbeats
	// (presence.Function); RecentAvgMillis is the mean duration of all of
	// them (each worker's mean weighted by its count), 0 with none.
	RecentOK        int64   `json:"recentOk"`
	RecentErrors    int64   `json:"recentErrors"`
	RecentAvgMillis float64 `json:"recentAvgMs"`
	// MaxConcurrency is its fleet-wide cap on running async invocations
	// (PUT /admin/functions/{name}); 0: none.
	MaxConcurrency int `json:"maxConcurrency,omitempty"`
}

// Filter selects invocation records, as the admin API takes it: the query
// parameters of GET /admin/invocations, the body of POST
// /admin/invocations/replay. The gateway validates it; Since and Until are
// RFC 3339 times.
type Filter struct {
	Function string `json:"function" form:"function"`
	Status   string `json:"status" form:"status"`
	Since    string `json:"since" form:"since"`
	Until    string `json:"until" form:"until"`
	Cursor   string `json:"cursor" form:"cursor"`
	Limit    int    `json:"limit" form:"limit"`
}

// InvocationDetail is one record with its event.
type InvocationDetail struct {
	*record.Invocation
	Event json.RawMessage `json:"event,omitempty"`
}

// Accepted is a queued invocation.
type Accepted struct {
	InvocationID string `json:"invocationId"`
	Status       string `json:"status"`
	ReplayOf     string `json:"replayOf,omitempty"`
	Edited       bool   `json:"edited,omitempty"`
}

// Edit changes a replayed event: each field given replaces the event's.
// Headers replace all of the event's headers (names lower-cased).
type Edit struct {
	Body            *string           `json:"body,omitempty"`
	IsBase64Encoded *bool             `json:"isBase64Encoded,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
}

// Cancelled answers a cancel.
type Cancelled struct {
	InvocationID string `json:"invocationId"`
	Status       string `json:"status"`
}

// Replayed is what a bulk replay queued, and why it left records out.
type Replayed struct {
	Replayed []Accepted `json:"replayed"`
	Errors   []string   `json:"errors,omitempty"`
}

// GatewayStats is one gateway's request counts by route.
type GatewayStats struct {
	Gateway string       `json:"gateway"` // the gateway process's id
	Routes  []RouteStats `json:"routes"`
}

// RouteStats counts one route's requests on one gateway since it started.
type RouteStats struct {
	Route    string `json:"route"` // domain and trigger path; empty: no route matched
	Mode     string `json:"mode"`
	Requests int64  `json:"requests"`
	Errors   int64  `json:"errors"` // answered 5xx
}

// AllStats is every gateway's counts; Complete is false when the gateways
// could not be asked and Gateways holds the answering gateway's alone.
type AllStats struct {
	// Complete comes first: the HTTP body has always listed it first.
	Complete bool           `json:"complete"`
	Gateways []GatewayStats `json:"gateways"`
}
