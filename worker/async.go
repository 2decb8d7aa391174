package worker

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/egress"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/worker/sdk"
)

// RecordStore keeps invocation records; *store.Invocations is one.
type RecordStore interface {
	Start(ctx context.Context, id string, attempt int) (string, error)
	Succeed(ctx context.Context, id string, attempt int, res *record.Result) error
	AttemptFailed(ctx context.Context, id string, ae record.AttemptError, next time.Time) error
	Dead(ctx context.Context, id string, ae record.AttemptError, attempt int) error
	SetCallback(ctx context.Context, id string, cs record.CallbackState) error
	Get(ctx context.Context, id string) (*record.Invocation, error)
}

// AsyncConfig enables asynchronous invocations: the worker takes each of
// its functions' queued invocations from the function's durable JetStream
// consumer (see package queue).
type AsyncConfig struct {
	JetStream jetstream.JetStream
	Records   RecordStore
	// AckWait is how long an attempt may run without a heartbeat before
	// JetStream redelivers it (a worker that died); running attempts send
	// in-progress heartbeats every AckWait/3. Default queue.DefaultAckWait.
	AckWait time.Duration
	// MaxAckPending bounds a function's invocations in flight across all
	// workers. Default queue.DefaultMaxAckPending.
	MaxAckPending int
	// ResultLimit caps the result body kept in a record. Default 64 KiB.
	ResultLimit int
	// CallbackAttempts bounds deliveries of a result to its callback URL.
	// Default 5, with backoff from 200ms.
	CallbackAttempts int
	// CallbackTimeout bounds one callback request. Default 10s.
	CallbackTimeout time.Duration
	// CallbackConnectTimeout bounds connecting to a callback URL, TLS
	// handshake included. Default 3s.
	CallbackConnectTimeout time.Duration
	// CallbackAllow lists the CIDRs and host names callbacks may reach
	// although they are loopback, private, link-local, CGNAT, multicast
	// or unspecified (see package egress); a host name may then resolve
	// to anything. Default none: callbacks reach public addresses only.
	CallbackAllow []string
	// CallbackSenders bounds the callbacks this worker delivers at once,
	// CallbackQueue the ones waiting for a sender; past both a callback
	// is recorded failed (CALLBACK_QUEUE_FULL). Defaults 16 and 1000.
	CallbackSenders, CallbackQueue int
}

func (c AsyncConfig) withDefaults() AsyncConfig {
	c.AckWait = cmp.Or(c.AckWait, queue.DefaultAckWait)
	c.MaxAckPending = cmp.Or(c.MaxAckPending, queue.DefaultMaxAckPending)
	c.ResultLimit = cmp.Or(c.ResultLimit, 64<<10)
	c.CallbackAttempts = cmp.Or(c.CallbackAttempts, 5)
	c.CallbackTimeout = cmp.Or(c.CallbackTimeout, 10*time.Second)
	c.CallbackConnectTimeout = cmp.Or(c.CallbackConnectTimeout, 3*time.Second)
	c.CallbackSenders = cmp.Or(c.CallbackSenders, 16)
	c.CallbackQueue = cmp.Or(c.CallbackQueue, 1000)
	return c
}

// EnableAsync makes Start consume every function's queued invocations too.
// It must be called before Start.
func (w *Worker) EnableAsync(cfg AsyncConfig) error {
	if cfg.JetStream == nil || cfg.Records == nil {
		return errors.New("worker: EnableAsync needs JetStream and Records")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("worker: EnableAsync after Start")
	}
	c := cfg.withDefaults()
	if c.CallbackSenders < 1 || c.CallbackQueue < 0 || c.CallbackAttempts < 1 || c.CallbackTimeout < 0 || c.CallbackConnectTimeout < 0 {
		return errors.New("worker: callback senders and attempts must be at least 1, queue and timeouts not negative")
	}
	policy, err := egress.NewPolicy(c.CallbackAllow)
	if err != nil {
		return fmt.Errorf("worker: callback allow list (FNGATE_CALLBACK_ALLOW): %w", err)
	}
	w.async = &c
	w.callbacks = newCallbacks(c, policy, w.wg.Go, w.log.Warn)
	return nil
}

// consume binds f to its consumer, waiting with backoff for the stream (a
// gateway creates it), and runs until stop is closed.
func (w *Worker) consume(f *function, stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-stop; cancel() }()
	defer cancel()
	b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(100*time.Millisecond), backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(0))
	cons, err := backoff.RetryNotifyWithData(func() (jetstream.Consumer, error) {
		return queue.EnsureConsumer(ctx, w.async.JetStream, f.name, queue.ConsumerConfig{AckWait: w.async.AckWait, MaxAckPending: w.async.MaxAckPending})
	}, backoff.WithContext(b, ctx), func(err error, d time.Duration) {
		w.log.Warn("waiting for the invocation stream", "function", f.name, "err", err, "retry_in", d.String())
	})
	if err != nil {
		return // stopped before the stream existed
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		w.spawn(f, func() { w.process(f, m) })
	}, jetstream.PullMaxMessages(f.concurrency), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			w.log.Debug("consume", "function", f.name, "err", err)
		}
	}))
	if err != nil {
		w.log.Error("consume failed", "function", f.name, "err", err)
		return
	}
	w.log.Info("consuming queued invocations", "function", f.name)
	<-stop
	// Stop pulling; messages already buffered are still handed over, and
	// anything not acked is redelivered to another worker after AckWait.
	cc.Drain()
	<-cc.Closed()
}

// retryDelay returns the wait before the attempt after failed attempt n
// (1-based) of j: exponential from RetryInitial, doubling, capped at
// RetryMax, with ±20% jitter, as cenkalti/backoff computes it.
func retryDelay(j *event.Job, n int) time.Duration {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(j.RetryInitial),
		backoff.WithMaxInterval(j.RetryMax),
		backoff.WithRandomizationFactor(0.2),
		backoff.WithMultiplier(2),
		backoff.WithMaxElapsedTime(0),
	)
	var d time.Duration
	for range n {
		d = b.NextBackOff()
	}
	return d
}

// process runs one delivery of a queued invocation.
func (w *Worker) process(f *function, m jetstream.Msg) {
	bg := context.Background()
	j := event.ParseJob(m.Headers())
	id := j.InvocationID
	meta, err := m.Metadata()
	if err != nil || id == "" {
		w.log.Error("queued message without invocation id or metadata; terminating it", "function", f.name, "err", err)
		_ = m.Term()
		return
	}
	attempt := int(meta.NumDelivered)
	log := w.log.With("invocation_id", id, "function", f.name, "attempt", attempt)

	if attempt > j.MaxAttempts {
		// The last attempt never reported (its worker died): no more runs.
		w.deadLetter(f, m, &j, record.AttemptError{Attempt: attempt - 1, Code: record.CodeWorkerLost, Error: "the worker running the last attempt stopped before it finished", At: time.Now()}, 0)
		return
	}
	switch st, err := w.async.Records.Start(bg, id, attempt); {
	case errors.Is(err, record.ErrInvocationNotFound):
		log.Warn("invocation record missing (expired?); running without it")
	case err != nil:
		log.Error("invocation records unreachable; retrying later", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	case st == record.StatusSucceeded || st == record.StatusDead:
		// A redelivery after a lost ack: the work is done, never redo it.
		log.Info("invocation already ended; acknowledging the redelivery", "status", st)
		_ = m.Ack()
		return
	}

	ctx, cancel := context.WithTimeout(sdk.WithInfo(bg, sdk.Info{RequestID: j.RequestID, FunctionName: f.name, TraceParent: j.TraceParent}), j.Timeout)
	stopBeat := w.heartbeat(m)
	start := time.Now()
	reply, runErr := w.run(ctx, f, m.Data())
	stopBeat()
	failed := runErr != nil || reply.Status >= 500 || reply.Status == http.StatusTooManyRequests
	outcome := "ok"
	switch {
	case runErr != nil:
		outcome = errorOf(ctx, runErr).Code
	case failed:
		outcome = record.CodeFunctionStatus
	}
	w.observe(f, "async", outcome, start)
	if !failed {
		cancel()
		res := w.result(reply)
		switch err := w.async.Records.Succeed(bg, id, attempt, res); {
		case errors.Is(err, record.ErrStale):
			// Presumed dead, this attempt was handed to another worker.
			log.Warn("attempt finished after it was taken over; its result is dropped")
			return
		case err != nil && !errors.Is(err, record.ErrInvocationNotFound):
			log.Error("recording success failed; the redelivery will retry", "err", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
		if err := m.DoubleAck(bg); err != nil {
			log.Warn("ack failed; a redelivery will find the record succeeded", "err", err)
		}
		w.callback(id, f.name, j.CallbackURL, record.StatusSucceeded, attempt, res, nil)
		return
	}

	ae := record.AttemptError{Attempt: attempt, At: time.Now()}
	var retryAfter time.Duration
	permanent := false
	if runErr != nil {
		fe := errorOf(ctx, runErr)
		ae.Code, ae.Error = fe.Code, fe.Message
		permanent = sdk.IsPermanent(runErr)
		var ra *sdk.RetryAfterError
		if errors.As(runErr, &ra) {
			retryAfter = ra.After
		}
	} else {
		ae.Code, ae.Status, ae.Error = record.CodeFunctionStatus, reply.Status, fmt.Sprintf("the function answered %d: %s", reply.Status, truncate(reply.Body, 512))
		retryAfter = parseRetryAfter(reply.Header.Get("Retry-After"))
	}
	cancel()
	if permanent || attempt >= j.MaxAttempts {
		w.deadLetter(f, m, &j, ae, attempt)
		return
	}
	delay := max(retryDelay(&j, attempt), retryAfter)
	w.metrics.retries.WithLabelValues(f.name).Inc()
	log.Warn("attempt failed; retrying", "code", ae.Code, "err", ae.Error, "retry_in", delay.String())
	if err := w.async.Records.AttemptFailed(bg, id, ae, time.Now().Add(delay)); errors.Is(err, record.ErrStale) {
		log.Warn("attempt failed after it was taken over; leaving the invocation to its new attempt")
		return
	} else if err != nil && !errors.Is(err, record.ErrInvocationNotFound) {
		log.Error("recording the failed attempt failed", "err", err)
	}
	_ = m.NakWithDelay(delay)
}

// heartbeat tells JetStream the attempt is alive until the returned func
// is called, so long functions are not redelivered mid-run.
func (w *Worker) heartbeat(m jetstream.Msg) func() {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(w.async.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// deadLetter is the end of an invocation that used every attempt or failed
// for good: its event and every attempt's error go to the dead-letter
// stream, then the record says dead and the message is acknowledged.
func (w *Worker) deadLetter(f *function, m jetstream.Msg, j *event.Job, last record.AttemptError, attempt int) {
	id := j.InvocationID
	bg := context.Background()
	log := w.log.With("invocation_id", id, "function", f.name)
	attempts := []record.AttemptError{}
	if inv, err := w.async.Records.Get(bg, id); err == nil {
		attempts = append(attempts, inv.AttemptErrors...)
	}
	attempts = append(attempts, last)
	letter, _ := json.Marshal(struct {
		InvocationID string                `json:"invocationId"`
		Function     string                `json:"function"`
		Attempts     []record.AttemptError `json:"attempts"`
		DeadAt       time.Time             `json:"deadAt"`
		Event        json.RawMessage       `json:"event"`
	}{id, f.name, attempts, time.Now().UTC(), storedEvent(m.Data(), j.RedactNames())})
	subj, _ := subject.Dead(f.name)
	ack, err := w.async.JetStream.PublishMsg(bg, &nats.Msg{
		Subject: subj, Data: letter,
		Header: event.DeadLetterHeader(id),
	}, jetstream.WithMsgID(id))
	if err != nil {
		log.Error("dead-lettering failed; retrying later", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	if err := w.async.Records.Dead(bg, id, last, attempt); errors.Is(err, record.ErrStale) {
		log.Warn("dead attempt was taken over; withdrawing its dead letter")
		if !ack.Duplicate {
			st, err := w.async.JetStream.Stream(bg, subject.StreamDead)
			if err == nil {
				err = st.DeleteMsg(bg, ack.Sequence)
			}
			if err != nil {
				log.Error("withdrawing the dead letter failed", "seq", ack.Sequence, "err", err)
			}
		}
		return
	} else if err != nil && !errors.Is(err, record.ErrInvocationNotFound) {
		log.Error("recording dead failed", "err", err)
	}
	log.Error("invocation dead", "attempts", len(attempts), "code", last.Code, "err", last.Error)
	w.metrics.dead.WithLabelValues(f.name).Inc()
	_ = m.Ack()
	w.callback(id, f.name, j.CallbackURL, record.StatusDead, last.Attempt, nil, &last)
}

// storedEvent is the event as a dead letter keeps it: with the headers the
// gateway named (event.Job.Redact) redacted; an event that cannot be
// decoded for that is withheld rather than kept with them.
func storedEvent(data []byte, redact []string) json.RawMessage {
	if len(redact) == 0 {
		return eventJSON(data)
	}
	b, err := event.Redact(data, redact)
	if err != nil {
		return json.RawMessage(`"[event withheld: it could not be decoded to redact its headers]"`)
	}
	return b
}

// eventJSON keeps a valid JSON event as is and quotes anything else.
func eventJSON(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	q, _ := json.Marshal(string(b))
	return q
}

// result is the record form of a reply, its body capped.
func (w *Worker) result(r *event.Reply) *record.Result {
	res := &record.Result{StatusCode: r.Status, Headers: r.Header}
	body := r.Body
	if len(body) > w.async.ResultLimit {
		body, res.Truncated = body[:w.async.ResultLimit], true
	}
	if utf8.Valid(body) {
		res.Body = string(body)
	} else {
		res.Body, res.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return res
}

// callback queues the POST of the outcome to url (see callbacks). The
// body carries an error's code and fixed text, never its own text: the
// callback target is whoever the HTTP caller named.
func (w *Worker) callback(id, function, url, status string, attempts int, res *record.Result, failure *record.AttemptError) {
	if url == "" {
		return
	}
	msg := map[string]any{
		"invocationId": id, "function": function, "status": status,
		"attempts": attempts, "result": res, "error": "",
	}
	if failure != nil {
		msg["error"] = record.PublicMessage(failure.Code, failure.Status)
		msg["errorCode"] = failure.Code
	}
	body, _ := json.Marshal(msg)
	w.callbacks.submit(callbackJob{id: id, url: url, body: body})
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
