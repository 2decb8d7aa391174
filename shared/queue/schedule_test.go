package queue_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/queue"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
)

// TestCancelDelayed: a delayed invocation is scheduled (with its runAt)
// until cancelled, then unknown and never queued; one that fired is
// queued and no longer cancellable here (ErrNotDelayed).
func TestCancelDelayed(t *testing.T) {
	ctx := t.Context()
	js := streams(t)
	l := queue.NewLookup(js)
	delay := func(id string, runAt time.Time) {
		t.Helper()
		job := event.Job{InvocationID: id, MaxAttempts: 1}
		m, err := queue.DelayMsg("fn", id, runAt, job.Header(), []byte(`{"body":"x"}`))
		if err == nil {
			_, err = js.PublishMsg(ctx, m)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	status := func(id string) string {
		inv, _, err := l.Queued(ctx, id)
		if errors.Is(err, record.ErrInvocationNotFound) {
			return "unknown"
		} else if err != nil {
			t.Fatal(err)
		}
		return inv.Status
	}

	later, soon := record.NewInvocationID(), record.NewInvocationID()
	runAt := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	delay(later, runAt)
	delay(soon, time.Now().Add(time.Second))
	if inv, _, err := l.Queued(ctx, later); err != nil || inv.Status != record.StatusScheduled || !inv.RunAt.Equal(runAt) || inv.Function != "fn" {
		t.Fatalf("delayed = %+v, %v", inv, err)
	}
	if err := queue.CancelDelayed(ctx, js, later); err != nil {
		t.Fatal(err)
	}
	if got := status(later); got != "unknown" {
		t.Fatalf("cancelled invocation is %s", got)
	}
	if err := queue.CancelDelayed(ctx, js, later); !errors.Is(err, queue.ErrNotDelayed) {
		t.Fatalf("second cancel: %v", err)
	}
	testenv.Eventually(t, 10*time.Second, "the other fired into the invocation stream", func() bool { return status(soon) == record.StatusQueued })
	if err := queue.CancelDelayed(ctx, js, soon); !errors.Is(err, queue.ErrNotDelayed) {
		t.Fatalf("cancel after firing: %v", err)
	}
	if err := queue.CancelDelayed(ctx, js, "not-an-id"); !errors.Is(err, queue.ErrNotDelayed) {
		t.Fatalf("cancel of a malformed id: %v", err)
	}
}

// streams returns a JetStream client of a new server with fngate's streams.
func streams(t *testing.T) jetstream.JetStream {
	js, err := jetstream.New(testenv.Conn(t, testenv.NATS(t)))
	if err == nil {
		err = queue.EnsureStreams(t.Context(), js, queue.Config{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestEnsureStreamsUpgrades: an invocation stream made before schedules
// (no source) gets the schedules stream as its source at the next start.
func TestEnsureStreamsUpgrades(t *testing.T) {
	js, err := jetstream.New(testenv.Conn(t, testenv.NATS(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: subject.StreamInvocations, Subjects: []string{subject.AsyncAll()},
		Retention: jetstream.WorkQueuePolicy, Discard: jetstream.DiscardNew, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if err := queue.EnsureStreams(ctx, js, queue.Config{}); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, subject.StreamInvocations)
	if err != nil {
		t.Fatal(err)
	}
	if src := s.CachedInfo().Config.Sources; len(src) != 1 || src[0].Name != subject.StreamSchedules {
		t.Fatalf("sources after the upgrade: %+v", src)
	}
}
