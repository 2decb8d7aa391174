package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/fngate/fngate/shared/egress"
	"github.com/fngate/fngate/shared/record"
)

// callbackReadLimit is how much of a callback's answer is read: only its
// status matters, and a callback target is untrusted.
const callbackReadLimit = 4 << 10

// callbacks delivers results to callback URLs, which HTTP callers choose:
// every connection goes through an egress policy checked at dial time, no
// redirect is followed and no proxy from the environment is used, and at
// most senders deliveries run at once, with a bounded queue behind them.
type callbacks struct {
	client   *http.Client
	attempts int
	log      func(msg string, args ...any)
	records  RecordStore
	queue    chan callbackJob
	senders  chan struct{} // a token per running sender goroutine
	spawn    func(func())  // runs a sender, counted in the worker's WaitGroup
}

type callbackJob struct {
	id, url string
	body    []byte
}

func newCallbacks(c AsyncConfig, policy *egress.Policy, spawn func(func()), warn func(string, ...any)) *callbacks {
	d := &net.Dialer{Timeout: c.CallbackConnectTimeout}
	tr := &http.Transport{
		Proxy:                  nil, // never HTTP(S)_PROXY: the policy must see the real destination
		DialContext:            policy.DialContext(d),
		TLSHandshakeTimeout:    c.CallbackConnectTimeout,
		DisableKeepAlives:      true, // one-off POSTs to arbitrary hosts: no idle pool to leak or reuse
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &callbacks{
		client: &http.Client{
			Transport: tr,
			Timeout:   c.CallbackTimeout,
			// A redirect could lead anywhere the caller likes; it is the
			// answer, and a failed delivery.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		attempts: c.CallbackAttempts,
		log:      warn,
		records:  c.Records,
		queue:    make(chan callbackJob, c.CallbackQueue),
		senders:  make(chan struct{}, c.CallbackSenders),
		spawn:    spawn,
	}
}

// submit queues a delivery without blocking. A full queue records the
// callback as failed: a burst of slow callback targets must not pile up
// goroutines or memory in the worker.
func (cb *callbacks) submit(j callbackJob) {
	select {
	case cb.queue <- j:
	default:
		cb.log("callback dropped: the senders are saturated", "invocation_id", j.id)
		cb.record(j.id, record.CallbackState{Status: "failed", Code: record.CodeCallbackQueueFull, Error: "callback queue full"})
		return
	}
	select {
	case cb.senders <- struct{}{}:
		cb.spawn(cb.run)
	default: // every sender is busy; one of them takes the job
	}
}

// run delivers queued jobs until the queue is empty, then gives its token
// back. A job queued between the empty check and the return is picked up
// either here (the token is taken again) or by the sender its submitter
// starts with the token given back.
func (cb *callbacks) run() {
	for {
		for drained := false; !drained; {
			select {
			case j := <-cb.queue:
				cb.deliver(j)
			default:
				drained = true
			}
		}
		<-cb.senders
		if len(cb.queue) == 0 {
			return
		}
		select {
		case cb.senders <- struct{}{}:
		default:
			return // another sender runs
		}
	}
}

// deliver POSTs one result, retrying with backoff, and records the outcome.
func (cb *callbacks) deliver(j callbackJob) {
	tries := 0
	b := backoff.WithMaxRetries(backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(200*time.Millisecond), backoff.WithMaxInterval(5*time.Second)), uint64(cb.attempts-1))
	var last *callbackError
	_ = backoff.Retry(func() error {
		tries++
		last = cb.post(j)
		switch {
		case last == nil:
			return nil
		case last.code == record.CodeCallbackRefused:
			return backoff.Permanent(last) // no retry reaches a forbidden address
		}
		return last
	}, b)
	cs := record.CallbackState{Status: "delivered", Attempts: tries}
	if last != nil {
		cs = record.CallbackState{Status: "failed", Attempts: tries, Code: last.code, HTTPStatus: last.status, Error: last.err.Error()}
		cb.log("callback not delivered", "invocation_id", j.id, "attempts", tries, "code", last.code, "err", last.err)
	}
	cb.record(j.id, cs)
}

func (cb *callbacks) record(id string, cs record.CallbackState) {
	if err := cb.records.SetCallback(context.Background(), id, cs); err != nil {
		cb.log("recording callback outcome failed", "invocation_id", id, "err", err)
	}
}

// callbackError is a failed delivery: its public code, and the full error
// for logs and operators.
type callbackError struct {
	code   string
	status int
	err    error
}

func (e *callbackError) Error() string { return e.code + ": " + e.err.Error() }

func (cb *callbacks) post(j callbackJob) *callbackError {
	u, err := url.Parse(j.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The gateway validated it; a message from elsewhere on the bus
		// is refused all the same.
		return &callbackError{code: record.CodeCallbackRefused, err: fmt.Errorf("%w: not an absolute http(s) URL", egress.ErrRefused)}
	}
	req, err := http.NewRequest(http.MethodPost, j.url, bytes.NewReader(j.body))
	if err != nil {
		return &callbackError{code: record.CodeCallbackRefused, err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Invocation-Id", j.id)
	resp, err := cb.client.Do(req)
	if err != nil {
		return &callbackError{code: callbackCode(err), err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, callbackReadLimit))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return &callbackError{code: record.CodeCallbackHTTPStatus, status: resp.StatusCode, err: fmt.Errorf("callback answered %d", resp.StatusCode)}
	}
	return nil
}

func callbackCode(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, egress.ErrRefused):
		return record.CodeCallbackRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return record.CodeCallbackTimeout
	}
	return record.CodeCallbackFailed
}
