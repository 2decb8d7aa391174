package gateway

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/schedule"
)

// Errors the gateway answers with. Each maps to one status and code in
// answers.
var (
	ErrRouteNotFound     = errors.New("no route matches this host and path")
	ErrMethodNotAllowed  = errors.New("the route does not accept this method")
	ErrNoWorker          = errors.New("no worker is serving this function")
	ErrBodyTooLarge      = errors.New("request body exceeds the limit")
	ErrHeadersTooLarge   = errors.New("request headers exceed the limit")
	ErrRoutesUnavailable = errors.New("routes have not been loaded yet")
	ErrUnauthorized      = errors.New("missing or wrong admin token")
	ErrBadRequest        = errors.New("invalid request")
	// A tokenless admin listener's refusals of what a web page could send:
	// a Host that is not loopback (DNS rebinding), a state change from
	// another site or in a form's content type.
	ErrAdminHost        = errors.New("without an admin token the admin listener answers only requests addressed to localhost, 127.0.0.1 or [::1]")
	ErrAdminCrossSite   = errors.New("a change from another site (Origin or Sec-Fetch-Site) is refused")
	ErrAdminContentType = errors.New("a change must be sent as Content-Type: application/json")
)

// ParamError names the admin API parameter that is invalid.
type ParamError struct {
	Field   string
	Message string
}

func (e *ParamError) Error() string { return "invalid request: " + e.Field + ": " + e.Message }

// Unwrap makes errors.Is(err, ErrBadRequest) true.
func (e *ParamError) Unwrap() error { return ErrBadRequest }

// answers maps sentinel errors, the gateway's own and its dependencies',
// to a status and code, tried in order with errors.Is. A message replaces
// err.Error() where that text is not for callers.
var answers = []struct {
	errs    []error
	status  int
	code    string
	message string
}{
	// The request and its route.
	{[]error{ErrRouteNotFound, route.ErrNotFound}, http.StatusNotFound, "ROUTE_NOT_FOUND", ""},
	{[]error{ErrMethodNotAllowed}, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", ""},
	{[]error{route.ErrInvalidPath}, http.StatusBadRequest, "INVALID_PATH", "the path climbs above / or contains an encoded slash (%2F)"},
	{[]error{ErrBodyTooLarge}, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", ""},
	{[]error{ErrHeadersTooLarge}, http.StatusRequestHeaderFieldsTooLarge, "HEADERS_TOO_LARGE", ""},
	// Streamed responses (stream.go): seen by a client only before the
	// first byte; later they cut the response short.
	{[]error{ErrStreamBroken}, http.StatusBadGateway, "STREAM_BROKEN", ""},
	{[]error{ErrStreamIdle}, http.StatusGatewayTimeout, "STREAM_IDLE", ""},

	// Capacity and the message bus. UNAVAILABLE comes before the rows below,
	// whose errors may wrap a NATS connection error.
	{[]error{ErrNoWorker}, http.StatusServiceUnavailable, "NO_WORKER", ""},
	{[]error{ErrOverloaded}, http.StatusServiceUnavailable, "OVERLOADED", ""},
	{[]error{ErrRoutesUnavailable}, http.StatusServiceUnavailable, "ROUTES_UNAVAILABLE", ""},
	{[]error{nats.ErrConnectionClosed, nats.ErrConnectionDraining, nats.ErrConnectionReconnecting, nats.ErrDisconnected}, http.StatusServiceUnavailable, "UNAVAILABLE", "the message bus is unavailable"},

	// CORS and idempotency keys.
	{[]error{ErrCORSOrigin}, http.StatusForbidden, "CORS_ORIGIN_DENIED", ""},
	{[]error{ErrIdempotencyKey}, http.StatusBadRequest, "INVALID_IDEMPOTENCY_KEY", ""},
	{[]error{ErrIdempotencyConflict}, http.StatusConflict, "IDEMPOTENCY_KEY_IN_USE", ""},
	{[]error{ErrIdempotencyMismatch}, http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_MISMATCH", ""},
	{[]error{ErrIdempotencyUnavailable}, http.StatusServiceUnavailable, "IDEMPOTENCY_UNAVAILABLE", ErrIdempotencyUnavailable.Error()},

	// Invocation records.
	{[]error{ErrInvocationNotFound}, http.StatusNotFound, "INVOCATION_NOT_FOUND", "no such invocation, or its record expired"},
	{[]error{ErrInvalidInvocationID}, http.StatusBadRequest, "INVALID_INVOCATION_ID", ""},
	{[]error{ErrInvocationBusy}, http.StatusConflict, "INVOCATION_IN_PROGRESS", ""},
	{[]error{record.ErrSyncCall}, http.StatusConflict, "INVOCATION_NOT_CANCELLABLE", ""},

	// Asynchronous accepts; QUEUE_FULL before QUEUE_UNAVAILABLE, which wraps
	// every publish error.
	{[]error{ErrAsyncDisabled}, http.StatusServiceUnavailable, "ASYNC_DISABLED", ""},
	{[]error{ErrFunctionSettingsDisabled}, http.StatusServiceUnavailable, "FUNCTION_SETTINGS_DISABLED", ""},
	{[]error{ErrAsyncNotAllowed}, http.StatusBadRequest, "ASYNC_NOT_ALLOWED", ""},
	{[]error{ErrInvalidDelay}, http.StatusBadRequest, "INVALID_DELAY", ""},

	// Schedules (timer triggers).
	{[]error{schedule.ErrInvalid}, http.StatusBadRequest, "INVALID_SCHEDULE", ""},
	{[]error{schedule.ErrNotFound}, http.StatusNotFound, "SCHEDULE_NOT_FOUND", ""},
	{[]error{schedule.ErrExists}, http.StatusConflict, "SCHEDULE_EXISTS", ""},
	{[]error{ErrQueueFull}, http.StatusServiceUnavailable, "QUEUE_FULL", ErrQueueFull.Error()},
	{[]error{ErrQueueUnavailable}, http.StatusServiceUnavailable, "QUEUE_UNAVAILABLE", ErrQueueUnavailable.Error()},

	// Deploys (PUT /admin/functions/<name>/code, rollback).
	{[]error{ErrDeployDisabled}, http.StatusServiceUnavailable, "DEPLOY_DISABLED", ""},
	{[]error{ErrCodeTooLarge}, http.StatusRequestEntityTooLarge, "CODE_TOO_LARGE", ""},
	{[]error{codestore.ErrArchiveTooLarge}, http.StatusRequestEntityTooLarge, "ARCHIVE_TOO_LARGE", ""},
	{[]error{codestore.ErrInvalidArchive}, http.StatusBadRequest, "INVALID_ARCHIVE", ""},
	{[]error{ErrFunctionNotFound, codestore.ErrFunctionNotFound}, http.StatusNotFound, "FUNCTION_NOT_FOUND", ""},
	{[]error{codestore.ErrVersionNotFound}, http.StatusNotFound, "VERSION_NOT_FOUND", ""},
	{[]error{ErrCodeUnavailable}, http.StatusServiceUnavailable, "CODE_STORE_UNAVAILABLE", ""},

	// The admin listener's guards.
	{[]error{ErrUnauthorized}, http.StatusUnauthorized, "UNAUTHORIZED", ""},
	{[]error{ErrAdminHost}, http.StatusForbidden, "ADMIN_HOST_REFUSED", ""},
	{[]error{ErrAdminCrossSite}, http.StatusForbidden, "ADMIN_CROSS_SITE_REFUSED", ""},
	{[]error{ErrAdminContentType}, http.StatusUnsupportedMediaType, "ADMIN_CONTENT_TYPE_REFUSED", ""},
}

// classify is the one mapping from errors to HTTP status and error body.
// Messages of function failures stay in the logs: callers see a fixed text.
func classify(err error) (int, adminapi.ErrorDetail) {
	if queue.IsFull(err) {
		// JetStream's refusal of a publish to a full stream, which enqueue
		// wraps in ErrQueueUnavailable like every publish error.
		err = ErrQueueFull
	}
	for _, a := range answers {
		for _, target := range a.errs {
			if errors.Is(err, target) {
				return a.status, adminapi.ErrorDetail{Code: a.code, Message: cmp.Or(a.message, err.Error())}
			}
		}
	}
	var fe *event.Error
	var re *route.FieldError
	var pe *ParamError
	var ee *EndedError
	switch {
	case errors.As(err, &ee):
		return http.StatusConflict, adminapi.ErrorDetail{Code: "INVOCATION_ENDED", Message: err.Error(), Status: ee.Status}
	case errors.As(err, &re):
		return http.StatusBadRequest, adminapi.ErrorDetail{Code: "INVALID_ROUTE", Message: re.Error(), Field: re.Field}
	case errors.Is(err, route.ErrConflict):
		return http.StatusConflict, adminapi.ErrorDetail{Code: "ROUTE_EXISTS", Message: err.Error()}
	case errors.As(err, &pe):
		return http.StatusBadRequest, adminapi.ErrorDetail{Code: "INVALID_REQUEST", Message: err.Error(), Field: pe.Field}
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest, adminapi.ErrorDetail{Code: "INVALID_REQUEST", Message: err.Error()}
	case errors.As(err, &fe) && fe.Code == event.CodeTimeout,
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return http.StatusGatewayTimeout, adminapi.ErrorDetail{Code: "TIMEOUT", Message: "the function did not answer within the route's timeout"}
	case errors.As(err, &fe) && fe.Code == event.CodeLoadError:
		return http.StatusBadGateway, adminapi.ErrorDetail{Code: event.CodeLoadError, Message: "the function could not be loaded"}
	case errors.As(err, &fe) && fe.Code == event.CodeInvalidResponse:
		return http.StatusBadGateway, adminapi.ErrorDetail{Code: event.CodeInvalidResponse, Message: "the function returned an invalid response"}
	case errors.As(err, &fe):
		return http.StatusBadGateway, adminapi.ErrorDetail{Code: event.CodeFunctionError, Message: "the function failed"}
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this.
		return 499, adminapi.ErrorDetail{Code: "CLIENT_CLOSED", Message: "client closed the request"}
	default:
		return http.StatusInternalServerError, adminapi.ErrorDetail{Code: "INTERNAL", Message: "internal error"}
	}
}

// writeError answers err as JSON and logs what the caller is not told.
func writeError(c *gin.Context, log *slog.Logger, reqID string, err error) {
	status, detail := classify(err)
	switch {
	case detail.Code == "OVERLOADED":
		// Counted in fngate_gateway_overload_refusals_total; a log line
		// each would add to the load being refused.
		if c.Request.ContentLength != 0 {
			// The body was not read and will not be: close rather than
			// drain it, so the answer goes out at once.
			c.Header("Connection", "close")
		}
	case status >= 500:
		log.Error("request failed", "request_id", reqID, "status", status, "code", detail.Code, "err", err)
	case status == 499:
		log.Info("client closed request", "request_id", reqID)
	}
	if status == http.StatusServiceUnavailable || detail.Code == "IDEMPOTENCY_KEY_IN_USE" || detail.Code == "INVOCATION_IN_PROGRESS" {
		c.Header("Retry-After", "1")
	}
	c.JSON(status, adminapi.ErrorBody{Error: detail, RequestID: reqID})
}
