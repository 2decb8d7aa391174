package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/route"
)

// Errors the gateway answers with. Each maps to one status and code in
// classify.
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

// classify is the one mapping from errors to HTTP status and error body.
// Messages of function failures stay in the logs: callers see a fixed text.
func classify(err error) (int, adminapi.ErrorDetail) {
	if queue.IsFull(err) {
		// JetStream's refusal of a publish to a full stream, which enqueue
		// wraps in ErrQueueUnavailable like every publish error.
		err = ErrQueueFull
	}
	var fe *event.Error
	var re *route.FieldError
	var pe *ParamError
	switch {
	case errors.Is(err, ErrRouteNotFound), errors.Is(err, route.ErrNotFound):
		return http.StatusNotFound, adminapi.ErrorDetail{Code: "ROUTE_NOT_FOUND", Message: err.Error()}
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed, adminapi.ErrorDetail{Code: "METHOD_NOT_ALLOWED", Message: err.Error()}
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge, adminapi.ErrorDetail{Code: "BODY_TOO_LARGE", Message: err.Error()}
	case errors.Is(err, ErrHeadersTooLarge):
		return http.StatusRequestHeaderFieldsTooLarge, adminapi.ErrorDetail{Code: "HEADERS_TOO_LARGE", Message: err.Error()}
	case errors.Is(err, ErrNoWorker):
		return http.StatusServiceUnavailable, adminapi.ErrorDetail{Code: "NO_WORKER", Message: err.Error()}
	case errors.Is(err, ErrOverloaded):
		return http.StatusServiceUnavailable, adminapi.ErrorDetail{Code: "OVERLOADED", Message: err.Error()}
	case errors.Is(err, route.ErrInvalidPath):
		return http.StatusBadRequest, adminapi.ErrorDetail{Code: "INVALID_PATH", Message: "the path climbs above / or contains an encoded slash (%2F)"}
	case errors.Is(err, ErrRoutesUnavailable):
		return http.StatusServiceUnavailable, adminapi.ErrorDetail{Code: "ROUTES_UNAVAILABLE", Message: err.Error()}
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrDisconnected):
		return http.StatusServiceUnavailable, adminapi.ErrorDetail{Code: "UNAVAILABLE", Message: "the message bus is unavailable"}
	case errors.Is(err, ErrCORSOrigin):
		return http.StatusForbidden, adminapi.ErrorDetail{Code: "CORS_ORIGIN_DENIED", Message: err.Error()}
	case errors.Is(err, ErrIdempotencyKey):
		return http.StatusBadRequest, adminapi.ErrorDetail{Code: "INVALID_IDEMPOTENCY_KEY", Message: err.Error()}
	case errors.Is(err, ErrIdempotencyConflict):
		return http.StatusConflict, adminapi.ErrorDetail{Code: "IDEMPOTENCY_KEY_IN_USE", Message: err.Error()}
	case errors.Is(err, ErrIdempotencyMismatch):
		return http.StatusUnprocessableEntity, adminapi.ErrorDetail{Code: "IDEMPOTENCY_KEY_MISMATCH", Message: err.Error()}
	case errors.Is(err, ErrIdempotencyUnavailable):
		return http.StatusServiceUnavailable, adminapi.ErrorDetail{Code: "IDEMPOTENCY_UNAVAILABLE", Message: ErrIdempotencyUnavailable.Error()}
	case errors.Is(err, ErrInvocationNotFound):
		return http.StatusNotFound, adminapi.ErrorDetail{Code: "INVOCATION_NOT_FOUND", Message: "no such invocation, or its record expired"}
	case errors.Is(err, ErrInvalidInvocationID):
		return http.StatusBadRequest, adminapi.ErrorDetail{Code: "INVALID_INVOCATION_ID", Message: err.Error()}
	case errors.Is(err, ErrInvocationBusy):
		return http.StatusConflict, adminapi.ErrorDetail{Code: "INVOCATION_IN_PROGRESS", Message: err.Error()}
	case errors.Is(err, ErrAsyncDisabled):
		return http.StatusServiceUnavailable, adminapi.ErrorDetail{Code: "ASYNC_DISABLED", Message: err.Error()}
	case errors.Is(err, ErrQueueFull):
		return http.StatusServiceUnavailable, adminapi.ErrorDetail{Code: "QUEUE_FULL", Message: ErrQueueFull.Error()}
	case errors.Is(err, ErrAsyncNotAllowed):
		return http.StatusBadRequest, adminapi.ErrorDetail{Code: "ASYNC_NOT_ALLOWED", Message: err.Error()}
	case errors.Is(err, ErrQueueUnavailable):
		return http.StatusServiceUnavailable, adminapi.ErrorDetail{Code: "QUEUE_UNAVAILABLE", Message: ErrQueueUnavailable.Error()}
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, adminapi.ErrorDetail{Code: "UNAUTHORIZED", Message: err.Error()}
	case errors.Is(err, ErrAdminHost):
		return http.StatusForbidden, adminapi.ErrorDetail{Code: "ADMIN_HOST_REFUSED", Message: err.Error()}
	case errors.Is(err, ErrAdminCrossSite):
		return http.StatusForbidden, adminapi.ErrorDetail{Code: "ADMIN_CROSS_SITE_REFUSED", Message: err.Error()}
	case errors.Is(err, ErrAdminContentType):
		return http.StatusUnsupportedMediaType, adminapi.ErrorDetail{Code: "ADMIN_CONTENT_TYPE_REFUSED", Message: err.Error()}
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
