package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/fngate/fngate/shared/egress"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/worker/sdk"
)

// RecordStore keeps invocation records; *store.Invocations is one.
type RecordStore interface {
	// Take creates the record of a queued invocation when it has none and
	// starts its next attempt (see store.Invocations.Take).
	Take(ctx context.Context, inv *record.Invocation, event []byte, owner string, lease time.Duration, expires time.Time) (string, int, error)
	// Renew extends a running attempt's lease (its worker is alive).
	Renew(ctx context.Context, id string, attempt int, until time.Time) error
	Succeed(ctx context.Context, id string, attempt int, res *record.Result) error
	AttemptFailed(ctx context.Context, id string, ae record.AttemptError, next time.Time) error
	Dead(ctx context.Context, id string, ae record.AttemptError, attempt int) error
	// Cancelled records that a running attempt stopped because an
	// operator cancelled the invocation (see cancel.go).
	Cancelled(ctx context.Context, id string, attempt int) error
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
	// workers. Default queue.DefaultMaxAckPending. A function's
	// maxConcurrency in Functions replaces it (see cap.go).
	MaxAckPending int
	// Functions holds function settings (maxConcurrency); nil: none.
	Functions FunctionSettings
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
	var applied int // the consumer's MaxAckPending
	cons, err := backoff.RetryNotifyWithData(func() (jetstream.Consumer, error) {
		c, n, err := w.ensureCapped(ctx, f.name)
		applied = n
		return c, err
	}, backoff.WithContext(b, ctx), func(err error, d time.Duration) {
		w.log.Warn("waiting for the invocation stream", "function", f.name, "err", err, "retry_in", d.String())
	})
	if err != nil {
		return // stopped before the stream existed
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		w.spawnAsync(f, func(release func()) { w.process(ctx, f, m, release) })
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
	if sub := w.watchCancels(f); sub != nil {
		defer func() { _ = sub.Unsubscribe() }()
	}
	capped := make(chan struct{})
	go func() { defer close(capped); w.followCap(ctx, f.name, applied) }()
	defer func() { <-capped }() // ctx ends when stop closes
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

// process runs one delivery of a queued invocation. The record is the
// source of truth for attempts (JetStream's delivery count also counts
// redeliveries that ran nothing): the worker takes the invocation in
// the record first, creating it there. While Redis is unreachable it
// holds the message (in-progress heartbeats) and runs nothing; stop
// (the worker draining) hands it back to the queue.
// release gives f's concurrency slot back once the function has run:
// recording the outcome is no run, and holding the slot through that
// Redis round trip would halve what a fast function drains.
func (w *Worker) process(stop context.Context, f *function, m jetstream.Msg, release func()) {
	bg := context.Background()
	j := event.ParseJob(m.Headers())
	if j.InvocationID == "" {
		j.InvocationID = subject.InvocationOf(m.Subject())
	}
	id := j.InvocationID
	meta, err := m.Metadata()
	if err != nil || !record.ValidInvocationID(id) {
		w.log.Error("queued message without invocation id or metadata; terminating it", "function", f.name, "err", err)
		_ = m.Term()
		return
	}
	log := &lazyLog{base: w.log, id: id, function: f.name}
	hb := w.heartbeat(m, id)
	defer hb.stop()
	runCtx, forget := w.cancellable(id) // before the take: a cancel may come at once
	defer forget()
	inv, kept := queue.Invocation(m.Subject(), &j, m.Data(), meta.Timestamp.UTC())
	expires := meta.Timestamp.Add(j.MaxEventAge)
	owner := nuid.Next() // this delivery, here
	var st string
	var attempt int
	if err := w.persist(stop, log, "taking the invocation", func(ctx context.Context) (err error) {
		st, attempt, err = w.async.Records.Take(ctx, inv, kept, owner, w.async.AckWait, expires)
		return err
	}); err != nil {
		_ = m.Nak() // the worker stops: another takes it
		return
	}
	log.attempt = attempt
	// From here on the outcome is recorded even while the worker drains
	// (a drain waits for it); an outage longer than settleTimeout hands
	// the invocation back, and a redelivery finds its attempt lost.
	switch st {
	case record.StatusSucceeded, record.StatusDead, record.StatusCancelled:
		// A redelivery after a lost ack, or a second copy: done already.
		log.Info("invocation already ended; acknowledging the redelivery", "status", st)
		_ = m.Ack()
		return
	case record.TakeBusy:
		// Another worker runs it and is alive (a redelivery of a message
		// that waited in this worker past AckWait, or a second copy): no
		// attempt is spent; look again once its lease may have lapsed.
		log.Debug("invocation running elsewhere; looking again later")
		_ = m.NakWithDelay(w.async.AckWait / 2)
		return
	case record.TakeLost:
		// The last attempt never reported (its worker died): no more runs.
		settle, cancelSettle := context.WithTimeout(bg, settleTimeout)
		defer cancelSettle()
		w.deadLetter(settle, f, m, &j, record.AttemptError{Attempt: attempt, Code: record.CodeWorkerLost, Error: "the worker running the last attempt stopped before it finished", At: time.Now()}, 0, hb)
		return
	case record.TakeExpired:
		settle, cancelSettle := context.WithTimeout(bg, settleTimeout)
		defer cancelSettle()
		w.deadLetter(settle, f, m, &j, record.AttemptError{Attempt: attempt, Code: record.CodeExpired,
			Error: fmt.Sprintf("maxEventAge %s passed before the invocation could run", j.MaxEventAge), At: time.Now()}, 0, hb)
		return
	}
	hb.running(attempt)

	ctx, cancel := context.WithTimeout(sdk.WithInfo(runCtx, sdk.Info{RequestID: j.RequestID, FunctionName: f.name, TraceParent: j.TraceParent}), j.Timeout)
	start := time.Now()
	reply, runErr := w.run(ctx, f, m.Data())
	release()
	settle, cancelSettle := context.WithTimeout(bg, settleTimeout) // from the run's end: it may have been long
	defer cancelSettle()
	if cancelled(runCtx) {
		cancel()
		w.observe(f, "async", record.CodeCancelled, start)
		w.endCancelled(settle, log, m, id, attempt, hb)
		return
	}
	failed := runErr != nil || record.FunctionFailed(reply.Status)
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
		err := w.persist(settle, log, "recording success", func(ctx context.Context) error {
			return w.async.Records.Succeed(ctx, id, attempt, res)
		})
		// Stale: presumed dead, this attempt was handed to another worker.
		if !recorded(err, m, log, "attempt finished after it was taken over; its result is dropped",
			"recording success failed; the redelivery will find the attempt lost") {
			return
		}
		hb.stop()
		// A plain ack, not waiting for JetStream's confirmation: if it is
		// lost, the redelivery finds the record succeeded and is acked
		// without running (the record, not the ack, makes it run once).
		if err := m.Ack(); err != nil {
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
		w.deadLetter(settle, f, m, &j, ae, attempt, hb)
		return
	}
	delay := max(retryDelay(&j, attempt), retryAfter)
	next := time.Now().Add(delay)
	err = w.persist(settle, log, "recording the failed attempt", func(ctx context.Context) error {
		return w.async.Records.AttemptFailed(ctx, id, ae, next)
	})
	if !recorded(err, m, log, "attempt failed after it was taken over; leaving the invocation to its new attempt",
		"recording the failed attempt failed") {
		return
	}
	if !next.Before(expires) {
		// The next attempt would be due past maxEventAge: end it now.
		w.deadLetter(settle, f, m, &j, record.AttemptError{Attempt: attempt, Code: record.CodeExpired,
			Error: fmt.Sprintf("the next attempt would be due after maxEventAge %s", j.MaxEventAge), At: time.Now()}, attempt, hb)
		return
	}
	w.metrics.retries.WithLabelValues(f.name).Inc()
	log.Warn("attempt failed; retrying", "code", ae.Code, "err", ae.Error, "retry_in", delay.String())
	hb.stop()
	_ = m.NakWithDelay(delay)
}

// spawnAsync is spawn for a queued invocation: run holds one of f's
// concurrency slots (taken before the invocation is, so a full worker
// stops pulling) until it calls release, and stays counted in flight
// (a drain waits for it) until it returns.
func (w *Worker) spawnAsync(f *function, run func(release func())) {
	f.sem <- struct{}{}
	f.inflight.Add(1)
	w.wg.Add(1)
	go func() {
		var once sync.Once
		release := func() { once.Do(func() { <-f.sem; f.inflight.Add(-1) }) }
		defer func() {
			release()
			w.wg.Done()
		}()
		run(release)
	}()
}

// lazyLog is a logger with an invocation's attributes, built only when
// something is logged: most invocations log nothing, and slog.Logger.With
// costs a handler clone each (its attributes too: they are kept as plain
// fields until then).
type lazyLog struct {
	base         *slog.Logger
	id, function string
	attempt      int   // 0: not taken yet
	args         []any // further attributes
	l            *slog.Logger
}

func (g *lazyLog) get() *slog.Logger {
	if g.l == nil {
		args := []any{"invocation_id", g.id, "function", g.function}
		if g.attempt > 0 {
			args = append(args, "attempt", g.attempt)
		}
		args = append(args, g.args...)
		g.l = g.base.With(args...)
	}
	return g.l
}

func (g *lazyLog) Debug(msg string, args ...any) { g.get().Debug(msg, args...) }
func (g *lazyLog) Info(msg string, args ...any)  { g.get().Info(msg, args...) }
func (g *lazyLog) Warn(msg string, args ...any)  { g.get().Warn(msg, args...) }
func (g *lazyLog) Error(msg string, args ...any) { g.get().Error(msg, args...) }

// settleTimeout bounds how long a worker holds an invocation whose
// outcome it cannot record.
const settleTimeout = 2 * time.Minute

// persist runs op, a write of the record, retrying with backoff while it
// fails for any reason but the record's (missing, or moved on), until stop:
// an unreachable Redis holds the invocation, it never spends an attempt.
func (w *Worker) persist(stop context.Context, log *lazyLog, what string, op func(context.Context) error) error {
	// Almost every write succeeds at once: no backoff is built for it (a
	// failed first try is tried again at once by the loop below).
	ctx, cancel := context.WithTimeout(stop, 5*time.Second)
	err := op(ctx)
	cancel()
	if err == nil || errors.Is(err, record.ErrStale) || errors.Is(err, record.ErrInvocationNotFound) {
		return err
	}
	b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(50*time.Millisecond), backoff.WithMaxInterval(2*time.Second), backoff.WithMaxElapsedTime(0))
	return backoff.RetryNotify(func() error {
		ctx, cancel := context.WithTimeout(stop, 5*time.Second)
		defer cancel()
		err := op(ctx)
		if errors.Is(err, record.ErrStale) || errors.Is(err, record.ErrInvocationNotFound) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, stop), func(err error, d time.Duration) {
		log.Warn("invocation records unreachable; holding the invocation", "while", what, "err", err, "retry_in", d.String())
	})
}

// beat keeps a held message alive: in-progress heartbeats to JetStream,
// and once an attempt runs, renewals of its lease in the record, so that
// a redelivery finds it busy, and the attempt is presumed lost only
// after its worker stopped heartbeating.
type beat struct {
	attempt atomic.Int64
	mu      sync.Mutex
	stopped bool
	t       *time.Timer
}

// running starts renewing attempt's lease.
func (b *beat) running(attempt int) { b.attempt.Store(int64(attempt)) }

// stop ends the heartbeats; it may be called more than once.
func (b *beat) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	b.t.Stop()
}

// heartbeat tells JetStream, every AckWait/3, that the message is held,
// until stop; a lease is renewed only after a heartbeat went out, so a
// worker cut off from NATS lets its lease lapse. A timer, not a goroutine
// with a ticker: most invocations end long before the first heartbeat,
// and then they cost no goroutine at all.
func (w *Worker) heartbeat(m jetstream.Msg, id string) *beat {
	b := &beat{}
	every := w.async.AckWait / 3
	b.mu.Lock()
	defer b.mu.Unlock()
	b.t = time.AfterFunc(every, func() {
		if m.InProgress() == nil {
			if n := b.attempt.Load(); n > 0 {
				ctx, cancel := context.WithTimeout(context.Background(), every)
				err := w.async.Records.Renew(ctx, id, int(n), time.Now().Add(w.async.AckWait))
				cancel()
				w.cancelIf(err, id) // a cancel this worker did not hear
			}
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if !b.stopped {
			b.t.Reset(every)
		}
	})
	return b
}

// deadLetter is the end of an invocation that used every attempt or failed
// for good: its event and every attempt's error go to the dead-letter
// stream, then the record says dead and the message is acknowledged.
func (w *Worker) deadLetter(settle context.Context, f *function, m jetstream.Msg, j *event.Job, last record.AttemptError, attempt int, hb *beat) {
	id := j.InvocationID
	bg := context.Background()
	log := &lazyLog{base: w.log, id: id, function: f.name}
	attempts := []record.AttemptError{}
	var inv *record.Invocation
	if err := w.persist(settle, log, "reading the attempts", func(ctx context.Context) (err error) {
		inv, err = w.async.Records.Get(ctx, id)
		return err
	}); err == nil {
		attempts = append(attempts, inv.AttemptErrors...)
	} else if !errors.Is(err, record.ErrInvocationNotFound) {
		_ = m.Nak()
		return
	}
	attempts = append(attempts, last)
	letter, _ := json.Marshal(struct {
		InvocationID string                `json:"invocationId"`
		Function     string                `json:"function"`
		Attempts     []record.AttemptError `json:"attempts"`
		DeadAt       time.Time             `json:"deadAt"`
		Event        json.RawMessage       `json:"event"`
	}{id, f.name, attempts, time.Now().UTC(), event.Kept(m.Data(), j.RedactNames())})
	subj, _ := subject.Dead(f.name)
	var ack *jetstream.PubAck
	if err := w.persist(settle, log, "dead-lettering", func(ctx context.Context) (err error) {
		ack, err = w.async.JetStream.PublishMsg(ctx, &nats.Msg{
			Subject: subj, Data: letter,
			Header: event.DeadLetterHeader(id),
		}, jetstream.WithMsgID(id))
		return err
	}); err != nil {
		log.Error("dead-lettering failed; retrying later", "err", err)
		_ = m.Nak()
		return
	}
	if err := w.persist(settle, log, "recording dead", func(ctx context.Context) error {
		return w.async.Records.Dead(ctx, id, last, attempt)
	}); errors.Is(err, record.ErrStale) {
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
		// Not acked: the record would read running (or queued) until it
		// expires. The redelivery comes back here; its dead letter is
		// deduplicated by the invocation id.
		log.Error("recording dead failed; retrying later", "err", err)
		_ = m.Nak()
		return
	}
	log.Error("invocation dead", "attempts", len(attempts), "code", last.Code, "err", last.Error)
	w.metrics.dead.WithLabelValues(f.name).Inc()
	hb.stop()
	_ = m.Ack()
	w.callback(id, f.name, j.CallbackURL, record.StatusDead, last.Attempt, nil, &last)
}

// result is the record form of a reply, its body capped.
func (w *Worker) result(r *event.Reply) *record.Result {
	res := &record.Result{StatusCode: r.Status, Headers: r.Header}
	body := r.Body
	if len(body) > w.async.ResultLimit {
		body, res.Truncated = body[:w.async.ResultLimit], true
	}
	res.Body, res.IsBase64Encoded = event.EncodeBody(body)
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

// recorded reports whether the attempt may go on after recording its
// outcome returned err. ErrStale (the attempt was taken over) logs stale
// and stops; any other error but a missing record (expired: the attempt
// goes on without it) logs failed, hands the message back and stops.
func recorded(err error, m jetstream.Msg, log *lazyLog, stale, failed string) bool {
	switch {
	case errors.Is(err, record.ErrStale):
		log.Warn(stale)
		return false
	case err != nil && !errors.Is(err, record.ErrInvocationNotFound):
		log.Error(failed, "err", err)
		_ = m.Nak()
		return false
	}
	return true
}
