package record

import (
	"errors"
	"net/http"
)

// Idempotency key states.
const (
	IdemRunning = "running" // claimed; the first request is still running
	IdemDone    = "done"    // the stored response can be replayed
)

// Idempotency is what a claimed idempotency key holds: the claim while
// the first request runs, then the response it got.
type Idempotency struct {
	State       string
	Fingerprint string
	Status      int
	Header      http.Header
	Body        []byte
}

// ErrIdemLost reports a completion for a key that expired meanwhile.
var ErrIdemLost = errors.New("idempotency key no longer held")
