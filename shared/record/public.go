package record

import (
	"strconv"
	"time"
)

// Failure codes of records beyond the function error codes of package
// event (FUNCTION_ERROR, FUNCTION_TIMEOUT, ...) and the gateway's codes of
// recorded sync failures.
const (
	// CodeWorkerLost: the worker running the last attempt stopped before it
	// reported.
	CodeWorkerLost = "WORKER_LOST"
	// CodeCancelled: an operator cancelled the invocation while an attempt
	// ran (a metrics outcome; the record's status says cancelled).
	CodeCancelled = "CANCELLED"
	// CodeExpired: the invocation's maxEventAge passed before it could
	// succeed (it waited, or its next retry would have been due, past it).
	CodeExpired = "EXPIRED"
	// CodeFunctionStatus: the function answered a 5xx or 429.
	CodeFunctionStatus = "FUNCTION_STATUS"

	// Callback delivery failures (CallbackState.Code).
	CodeCallbackRefused    = "CALLBACK_REFUSED"     // the destination is not allowed (loopback, private, ... or not http(s))
	CodeCallbackTimeout    = "CALLBACK_TIMEOUT"     // connecting or the whole exchange took too long
	CodeCallbackHTTPStatus = "CALLBACK_HTTP_STATUS" // the callback answered outside 2xx (redirects included)
	CodeCallbackFailed     = "CALLBACK_FAILED"      // any other transport error
	CodeCallbackQueueFull  = "CALLBACK_QUEUE_FULL"  // the worker's callback senders were saturated
)

// publicMessages are the fixed texts shown for each code in place of the
// error's own text, which may hold stacks, paths or a dial error (a port
// scan oracle) and stays with operators.
var publicMessages = map[string]string{
	"FUNCTION_ERROR":       "the function failed",
	"FUNCTION_LOAD_ERROR":  "the function could not be loaded",
	"FUNCTION_TIMEOUT":     "the function did not finish within its timeout",
	"INVALID_RESPONSE":     "the function returned an invalid response",
	"INVALID_EVENT":        "the event could not be decoded",
	CodeWorkerLost:         "the worker running the invocation stopped before it finished",
	CodeExpired:            "the invocation's maximum event age passed before it could succeed",
	"TIMEOUT":              "the function did not answer within the route's timeout",
	"NO_WORKER":            "no worker was serving the function",
	"UNAVAILABLE":          "the message bus was unavailable",
	CodeCallbackRefused:    "the callback URL's destination is not allowed",
	CodeCallbackTimeout:    "the callback did not answer in time",
	CodeCallbackFailed:     "the callback could not be reached",
	CodeCallbackQueueFull:  "the callback was dropped: the worker had too many callbacks pending",
	CodeCallbackHTTPStatus: "the callback answered with a non-2xx status",
}

// PublicMessage is the fixed text for a failure code; status is the HTTP
// status that goes with CodeFunctionStatus (0 if unknown).
func PublicMessage(code string, status int) string {
	if code == CodeFunctionStatus {
		if status > 0 {
			return "the function answered " + strconv.Itoa(status)
		}
		return "the function answered with an error status"
	}
	if m, ok := publicMessages[code]; ok {
		return m
	}
	return "the invocation failed"
}

// PublicInvocation is what anyone holding an invocation id may read of its
// record (the public GET /invocations/<id>): no error texts, event, route,
// callback URL or anything else an operator alone should see.
type PublicInvocation struct {
	Summary
	// Error is set while the invocation is failed (a retry is due) or dead.
	Error         *PublicError    `json:"error,omitempty"`
	AttemptErrors []PublicError   `json:"attemptErrors,omitempty"`
	ReplayOf      string          `json:"replayOf,omitempty"`
	Callback      *PublicCallback `json:"callback,omitempty"`
}

// PublicError is a failure as the public sees it: a code and a fixed text.
type PublicError struct {
	Attempt int        `json:"attempt,omitempty"`
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Status  int        `json:"status,omitempty"` // the function's HTTP status (FUNCTION_STATUS)
	At      *time.Time `json:"at,omitempty"`
}

// PublicCallback is the callback delivery's outcome without its error text.
type PublicCallback struct {
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	Code       string `json:"code,omitempty"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
}

// Public returns the public view of inv.
func (inv *Invocation) Public() *PublicInvocation {
	p := &PublicInvocation{Summary: inv.Summary, ReplayOf: inv.ReplayOf}
	for _, ae := range inv.AttemptErrors {
		at := ae.At
		p.AttemptErrors = append(p.AttemptErrors, PublicError{Attempt: ae.Attempt, Code: ae.Code, Message: PublicMessage(ae.Code, ae.Status), Status: ae.Status, At: &at})
	}
	if inv.Status == StatusFailed || inv.Status == StatusDead {
		e := PublicError{Code: inv.ErrorCode}
		if n := len(p.AttemptErrors); n > 0 {
			last := p.AttemptErrors[n-1]
			if e.Code == "" || e.Code == last.Code {
				e.Code, e.Status = last.Code, last.Status
			}
		}
		if e.Code == CodeFunctionStatus && e.Status == 0 && inv.Result != nil {
			e.Status = inv.Result.StatusCode // a recorded sync failure
		}
		if e.Code == "" {
			e.Code = "INVOCATION_FAILED" // a record from before codes were kept
		}
		e.Message = PublicMessage(e.Code, e.Status)
		p.Error = &e
	}
	if cb := inv.Callback; cb != nil {
		p.Callback = &PublicCallback{Status: cb.Status, Attempts: cb.Attempts, Code: cb.Code, HTTPStatus: cb.HTTPStatus}
		if cb.Status == "failed" && cb.Code == "" {
			p.Callback.Code = CodeCallbackFailed
		}
	}
	return p
}
