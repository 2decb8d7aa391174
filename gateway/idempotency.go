package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
)

// HTTP headers of idempotent requests (IETF draft "The Idempotency-Key HTTP
// Header Field").
const (
	HeaderIdempotencyKey     = "Idempotency-Key"
	HeaderIdempotentReplayed = "Idempotent-Replayed"
)

// Errors of idempotent requests.
var (
	ErrIdempotencyKey         = errors.New("invalid Idempotency-Key")
	ErrIdempotencyConflict    = errors.New("a request with this Idempotency-Key is still running")
	ErrIdempotencyMismatch    = errors.New("this Idempotency-Key was used with a different request")
	ErrIdempotencyUnavailable = errors.New("idempotency keys cannot be checked right now")
)

// IdempotencyStore keeps idempotency keys; *store.Idempotency is one.
type IdempotencyStore interface {
	Claim(ctx context.Context, routeID, scope, fp string, lease time.Duration) (*record.Idempotency, error)
	Complete(ctx context.Context, routeID, scope, fp string, status int, h http.Header, body []byte) error
	Release(ctx context.Context, routeID, scope, fp string) error
}

// idemClaim is a key this request holds until it completes or releases it.
type idemClaim struct {
	routeID, scope, fp string
	// ownScope: the scope is one caller's (the route scopes by caller and
	// the request named one), so the response may carry its cookies.
	ownScope bool
}

// leaseMargin is how long a claim outlives the wait for its reply (the
// route's deadline plus IdempotencyGrace), so a gateway that dies
// mid-request frees its keys soon after.
const leaseMargin = 10 * time.Second

// claimIdempotency handles the request's Idempotency-Key, waiting at most
// until ctx (the call's deadline) ends. It returns the claim to run under
// [Gateway.keyed] (nil when the request carries no key or runs without
// idempotency), or done=true with the answer: a replayed response, 409,
// 422, 400 or 503.
func (g *Gateway) claimIdempotency(ctx context.Context, r *http.Request, rt *route.Route, reqID string, body []byte) (_ *idemClaim, _ response, done bool) {
	opts := rt.IdempotencyOptions()
	vals := r.Header.Values(HeaderIdempotencyKey)
	if len(vals) == 0 {
		if opts.Required {
			return nil, failed(fmt.Errorf("%w: this route requires an %s header", ErrIdempotencyKey, HeaderIdempotencyKey)), true
		}
		return nil, response{}, false
	}
	key := vals[0]
	if err := validIdempotencyKey(key, len(vals)); err != nil {
		return nil, failed(err), true
	}
	if g.idem == nil {
		return nil, failed(ErrIdempotencyUnavailable), true
	}
	caller := ""
	if opts.ScopeByCaller {
		caller = r.Header.Get("Authorization")
	}
	cl := &idemClaim{routeID: rt.ID, scope: digest(key, caller), fp: digest(r.Method, r.URL.Path, r.URL.RawQuery, string(body)), ownScope: caller != ""}
	lease := time.Duration(rt.Timeout) + g.cfg.IdempotencyGrace + leaseMargin
	b := time.Duration(0)
	for {
		rec, err := g.idem.Claim(ctx, cl.routeID, cl.scope, cl.fp, lease)
		switch {
		case err != nil && opts.FailOpen:
			g.log.Warn("idempotency store unreachable; running without idempotency (fail open)", "request_id", reqID, "err", err)
			return nil, response{}, false
		case err != nil:
			return nil, failed(fmt.Errorf("%w: %w", ErrIdempotencyUnavailable, err)), true
		case rec == nil:
			return cl, response{}, false // ours: run it
		case rec.Fingerprint != cl.fp:
			return nil, failed(ErrIdempotencyMismatch), true
		case rec.State == record.IdemDone:
			return nil, response{status: rec.Status, header: rec.Header, body: rec.Body, replayed: true}, true
		case !opts.Wait:
			return nil, failed(ErrIdempotencyConflict), true
		}
		// Wait for the first request: poll with backoff until our deadline.
		b = min(max(2*b, 20*time.Millisecond), 500*time.Millisecond)
		select {
		case <-ctx.Done():
			return nil, failed(ErrIdempotencyConflict), true
		case <-time.After(b):
		}
	}
}

// validIdempotencyKey accepts one key of 1 to 255 printable ASCII bytes.
func validIdempotencyKey(key string, n int) error {
	if n > 1 {
		return fmt.Errorf("%w: send one %s header", ErrIdempotencyKey, HeaderIdempotencyKey)
	}
	if len(key) == 0 || len(key) > 255 {
		return fmt.Errorf("%w: must be 1 to 255 printable ASCII characters", ErrIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return fmt.Errorf("%w: must be 1 to 255 printable ASCII characters", ErrIdempotencyKey)
		}
	}
	return nil
}

func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// keyFate is what the end of a keyed call means for its key.
type keyFate int

const (
	// keyUnknown: whether the function ran cannot be known (the connection
	// to NATS was lost while waiting): the key stays claimed until its
	// lease ends.
	keyUnknown keyFate = iota
	// keyComplete: the response is the call's outcome; a retry replays it.
	keyComplete
	// keyRelease: nothing ran (no worker took it, the worker refused the
	// event, nothing was queued); the retry must be able to run.
	keyRelease
)

// keyed runs step, the rest of a request that holds claim, and leaves the
// key, in one deferred place, as step's outcome says: completed with the
// response (an error's as writeError sends it), released, or claimed
// until its lease ends (also if step panics).
func (g *Gateway) keyed(claim *idemClaim, reqID string, step func() (response, keyFate)) (res response) {
	fate := keyUnknown
	defer func() {
		switch fate {
		case keyComplete:
			if res.err == nil {
				g.completeIdempotency(claim, reqID, res.status, res.header, res.body)
				return
			}
			status, d := classify(res.err)
			g.completeIdempotency(claim, reqID, status, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, errorBody(reqID, d))
		case keyRelease:
			g.releaseIdempotency(claim, reqID)
		default:
			g.log.Warn("idempotent call ended without a known outcome; its key stays claimed until its lease ends", "request_id", reqID, "err", res.err)
		}
	}()
	res, fate = step()
	return res
}

// complete stores the response a claimed request is about to send. Headers
// that belong to one exchange (request id, length) are not stored, nor
// cookies set for one caller when the key's scope is shared by callers.
func (g *Gateway) completeIdempotency(cl *idemClaim, reqID string, status int, h http.Header, body []byte) {
	if cl == nil {
		return
	}
	stored := make(http.Header, len(h))
	for k, vs := range h {
		switch {
		case k == HeaderRequestID, k == "Content-Length", k == "Date":
		case !cl.ownScope && strings.EqualFold(k, "Set-Cookie"): // a function may spell it in any case
		default:
			stored[k] = vs
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := g.idem.Complete(ctx, cl.routeID, cl.scope, cl.fp, status, stored, body); err != nil {
		g.log.Error("storing the idempotent response failed; the key stays claimed until its lease ends", "request_id", reqID, "err", err)
	}
}

// errorBody is the JSON error body of d, as writeError sends it.
func errorBody(reqID string, d adminapi.ErrorDetail) []byte {
	b, _ := json.Marshal(adminapi.ErrorBody{Error: d, RequestID: reqID})
	return b
}

// releaseIdempotency frees the key of a request that reached no worker
// (or no function code), so the client's retry runs.
func (g *Gateway) releaseIdempotency(cl *idemClaim, reqID string) {
	if cl == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := g.idem.Release(ctx, cl.routeID, cl.scope, cl.fp); err != nil {
		g.log.Error("releasing an idempotency key failed; it frees itself when its lease ends", "request_id", reqID, "err", err)
	}
}
