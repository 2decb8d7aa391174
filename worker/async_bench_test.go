package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/store"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
	"github.com/fngate/fngate/worker"
	"github.com/fngate/fngate/worker/builtin"
	"github.com/fngate/fngate/worker/sdk"
)

// BenchmarkAsyncDrain drains b.N queued invocations of echo with one
// worker, over an in-process nats-server and a real Redis: what a drained
// invocation costs (allocations: the worker's and the nats-server's;
// redis-calls/op: the commands Redis ran for it, scripts' included). Each
// message is what a gateway queues (subject, Nats-Msg-Id, policy).
func BenchmarkAsyncDrain(b *testing.B) {
	ctx := context.Background()
	nc := ok(nats.Connect(testenv.NATS(b).ClientURL()))(b)
	b.Cleanup(nc.Close)
	js := ok(jetstream.New(nc))(b)
	if err := queue.EnsureStreams(ctx, js, queue.Config{}); err != nil {
		b.Fatal(err)
	}
	rdb := testenv.StartRedis(b).Client()
	invs := store.NewInvocations(rdb, 0)
	b.Cleanup(invs.Close)
	data, _ := json.Marshal(event.Event{Path: "/echo", HTTPMethod: "POST", Headers: map[string]string{"content-type": "text/plain"}, Body: "hi"})
	for range b.N {
		id := record.NewInvocationID()
		subj, _ := subject.AsyncInvocation("echo", id)
		job := event.Job{InvocationID: id, RequestID: id, Timeout: 30 * time.Second, MaxAttempts: 3,
			RetryInitial: time.Second, RetryMax: time.Minute, MaxEventAge: 6 * time.Hour}
		if _, err := js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: data, Header: job.Header()}); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publishing timed out")
	}
	cons := ok(queue.EnsureConsumer(ctx, js, "echo", queue.ConsumerConfig{}))(b)
	w := ok(worker.New(nc, worker.Config{Logger: slog.New(slog.DiscardHandler)}))(b)
	if err := w.Handle("echo", sdk.HandlerFunc(builtin.Echo)); err != nil {
		b.Fatal(err)
	}
	if err := w.EnableAsync(worker.AsyncConfig{JetStream: js, Records: invs}); err != nil {
		b.Fatal(err)
	}
	calls0, rcpu0, cpu0 := redisCalls(b, rdb), redisCPU(b, rdb), processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	if err := w.Start(ctx); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		info := ok(cons.Info(ctx))(b)
		if info.NumPending == 0 && info.NumAckPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not drained: %d pending", info.NumPending+uint64(info.NumAckPending))
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(redisCalls(b, rdb)-calls0)/float64(b.N), "redis-calls/op")
	// CPU rather than time: steadier on a shared machine.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64((redisCPU(b, rdb)-rcpu0).Microseconds())/float64(b.N), "redis-cpu-µs/op")
	if err := w.Drain(ctx); err != nil {
		b.Fatal(err)
	}
}

// ok returns a function that returns v, failing b when err is set.
func ok[T any](v T, err error) func(*testing.B) T {
	return func(b *testing.B) T {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
}

// processCPU is the CPU time this process (worker and nats-server) used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time Redis used (INFO cpu).
func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	b.Helper()
	var sec float64
	for _, line := range strings.Split(infoSection(b, rdb, "cpu"), "\n") {
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), k); ok {
				f, _ := strconv.ParseFloat(v, 64)
				sec += f
			}
		}
	}
	return time.Duration(sec * float64(time.Second))
}

func infoSection(b *testing.B, rdb *redis.Client, section string) string {
	b.Helper()
	return ok(rdb.Info(context.Background(), section).Result())(b)
}

// redisCalls is the number of commands Redis ran so far (INFO
// commandstats; a script's own redis.calls count too).
func redisCalls(b *testing.B, rdb *redis.Client) int64 {
	b.Helper()
	var n int64
	for _, line := range strings.Split(infoSection(b, rdb, "commandstats"), "\n") {
		if _, rest, ok := strings.Cut(line, ":calls="); ok {
			v, _, _ := strings.Cut(rest, ",")
			c, _ := strconv.ParseInt(v, 10, 64)
			n += c
		}
	}
	return n
}
