package record

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
)

// Invocation statuses.
const (
	StatusScheduled = "scheduled" // delayed: waiting in the schedules stream for its time (RunAt)
	StatusQueued    = "queued"    // accepted, waiting for a worker
	StatusRunning   = "running"   // an attempt is running
	StatusFailed    = "failed"    // an attempt failed; the next is scheduled (or a recorded sync failure)
	StatusSucceeded = "succeeded" // the function answered (a status below 500 and not 429)
	StatusDead      = "dead"      // every attempt failed: in the dead-letter stream
	StatusCancelled = "cancelled" // an operator cancelled it: it runs no (further) attempt
	// StatusCancelling is never a record's status: it answers a cancel of
	// an invocation whose attempt runs, which ends cancelled when the
	// attempt stops.
	StatusCancelling = "cancelling"
)

// Statuses lists the statuses a record can have, in the order of its life
// (the filters of listings).
var Statuses = []string{StatusQueued, StatusRunning, StatusFailed, StatusSucceeded, StatusDead, StatusCancelled}

// Ended reports whether status is final: nothing runs the invocation
// again but a replay. (The store's scripts spell the same three.)
func Ended(status string) bool {
	return status == StatusSucceeded || status == StatusDead || status == StatusCancelled
}

// Outcomes of a worker's take of an invocation (the store's Take) besides
// the ended statuses (StatusSucceeded, StatusDead, StatusCancelled) and
// StatusRunning (the attempt to run is the worker's).
const (
	// TakeBusy: another worker runs the invocation and heartbeats.
	TakeBusy = "busy"
	// TakeLost: the last attempt's worker stopped before it finished.
	TakeLost = "lost"
	// TakeExpired: the invocation's maxEventAge has passed.
	TakeExpired = "expired"
)

var (
	// ErrInvocationNotFound reports an unknown or expired invocation id.
	ErrInvocationNotFound = errors.New("invocation not found")
	// ErrStale reports a transition refused because the invocation ended
	// or a later attempt took it over (the caller's worker was presumed
	// dead).
	ErrStale = errors.New("invocation record moved on")
	// ErrCancelRequested reports, to a running attempt's worker renewing
	// its lease, that the invocation was cancelled: it is to stop.
	ErrCancelRequested = errors.New("invocation cancelled while it runs")
	// ErrSyncCall reports a cancel of a synchronous call that fell back
	// to 202 and still runs: nothing can stop it but its deadline.
	ErrSyncCall = errors.New("a synchronous call that fell back to 202 cannot be cancelled; it runs to its deadline")
)

// NewInvocationID returns a random, unguessable invocation id.
func NewInvocationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ReplayID returns the id of the replay of id. An invocation is replayed
// at most once: every caller that replays it gets this id (to run it again,
// replay the replay).
func ReplayID(id string) string {
	sum := sha256.Sum256([]byte(id + ":replay"))
	return hex.EncodeToString(sum[:16])
}

// ValidInvocationID reports whether id has the form of the ids
// NewInvocationID and ReplayID make: 32 lower-case hex characters.
func ValidInvocationID(id string) bool { return subject.ValidInvocationID(id) }

// Summary is what every view of an invocation shows, the operators'
// (Invocation) and the public one (PublicInvocation). Both embed it, so
// their JSON has its fields at the top level.
type Summary struct {
	ID            string     `json:"invocationId"`
	Function      string     `json:"function"`
	Mode          string     `json:"mode"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	MaxAttempts   int        `json:"maxAttempts"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	StartedAt     *time.Time `json:"startedAt,omitempty"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	// RunAt is when a delayed invocation (status scheduled) runs.
	RunAt *time.Time `json:"runAt,omitempty"`
	// Trigger is what started an invocation other than a request:
	// "schedule:<id>" for a schedule's firing.
	Trigger string  `json:"trigger,omitempty"`
	Result  *Result `json:"result,omitempty"`
}

// Invocation is the record of one asynchronous (or recorded sync) call.
type Invocation struct {
	Summary
	// ErrorCode classifies the last failure (see PublicMessage); Error is
	// its full text, for operators only.
	ErrorCode     string         `json:"errorCode,omitempty"`
	Error         string         `json:"error,omitempty"`
	AttemptErrors []AttemptError `json:"attemptErrors,omitempty"`
	ReplayOf      string         `json:"replayOf,omitempty"`
	// Edited marks a replay whose event an operator changed.
	Edited      bool            `json:"edited,omitempty"`
	LastReplay  string          `json:"lastReplay,omitempty"`
	CallbackURL string          `json:"callbackUrl,omitempty"`
	Callback    *CallbackState  `json:"callback,omitempty"`
	Route       json.RawMessage `json:"route,omitempty"`
	// LeaseUntil is when a running attempt's worker must heartbeat again;
	// past it the worker is presumed dead and the attempt lost.
	LeaseUntil *time.Time `json:"leaseUntil,omitempty"`
}

// Running reports whether an attempt of inv runs at now: its status is
// running and its worker's lease is live. (A running record without a
// lease, from a worker before Async v2, whose message is gone is not.)
func (inv *Invocation) Running(now time.Time) bool {
	return inv.Status == StatusRunning && inv.LeaseUntil != nil && inv.LeaseUntil.After(now)
}

// LostSync reports whether inv is a synchronous call that outlived its
// wait (its caller got 202) whose worker's lease lapsed before it recorded
// the outcome: the worker died. Nothing redelivers a synchronous call, so
// no worker will ever end such a record; readers show it as a last
// attempt lost (see MarkLost).
func (inv *Invocation) LostSync(now time.Time) bool {
	return inv.Mode == route.ModeSync && inv.Status == StatusRunning && inv.LeaseUntil != nil && !inv.LeaseUntil.After(now)
}

// MarkLost shows inv as dead with CodeWorkerLost (a view: the record is
// not written).
func (inv *Invocation) MarkLost() {
	inv.Status, inv.ErrorCode, inv.Error, inv.LeaseUntil = StatusDead, CodeWorkerLost, publicMessages[CodeWorkerLost], nil
}

// FunctionFailed reports whether a function's answer of HTTP status code
// is a failed attempt: a 5xx, or a 429 (it asks to be tried later).
// Anything else is success (StatusSucceeded), a 4xx included: the
// function decided.
func FunctionFailed(code int) bool { return code >= 500 || code == 429 }

// Result is what the function answered, its body capped.
type Result struct {
	StatusCode      int                 `json:"statusCode"`
	Headers         map[string][]string `json:"headers,omitempty"`
	Body            string              `json:"body"`
	IsBase64Encoded bool                `json:"isBase64Encoded,omitempty"`
	Truncated       bool                `json:"truncated,omitempty"`
}

// AttemptError is one failed attempt.
type AttemptError struct {
	Attempt int    `json:"attempt"`
	Code    string `json:"code"`
	// Status is the HTTP status the function answered (Code
	// FUNCTION_STATUS).
	Status int `json:"status,omitempty"`
	// Error is the full text (an error message, a panic stack): operators
	// only, never in the public view.
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

// CallbackState tracks delivery of the result to the callback URL; it never
// changes the invocation's own status.
type CallbackState struct {
	Status   string `json:"status"` // delivered or failed
	Attempts int    `json:"attempts"`
	// Code classifies a failed delivery (CodeCallbackRefused, ...);
	// HTTPStatus is the callback's answer with CodeCallbackHTTPStatus.
	Code       string `json:"code,omitempty"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	// Error is the full text (a dial error, say): operators only.
	Error string `json:"error,omitempty"`
}

// Filter selects records for a listing.
type Filter struct {
	Function string
	Status   string
	Since    time.Time // inclusive; zero: no bound
	Until    time.Time // exclusive; zero: no bound
	// Cursor continues a previous listing (its NextCursor).
	Cursor string
	Limit  int // default 50, at most 500
}

// Page is one page of records, newest first.
type Page struct {
	Invocations []*Invocation `json:"invocations"`
	NextCursor  string        `json:"nextCursor,omitempty"`
}
