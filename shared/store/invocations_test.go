package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/testenv"
)

// The behaviour every store shares is checked by package storetest (see
// TestRedis); what is left here is this implementation's own.

func TestInvocationsClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewInvocations(testenv.StartRedis(t).Client(), time.Hour)
	if err := s.CreateNew(ctx, &record.Invocation{Summary: record.Summary{ID: record.NewInvocationID(), Function: "f"}}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // twice is fine
	if err := s.CreateNew(ctx, &record.Invocation{Summary: record.Summary{ID: record.NewInvocationID(), Function: "f"}}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("CreateNew after Close = %v, want ErrClosed", err)
	}
}

// Every write that indexes a record has the next trim look at its
// function's index (Create, as the gateway's recorded sync failures and
// fallen-back calls write, not only the worker's Take), and a replay noted
// on a record that expired meanwhile makes no key.
func TestInvocationsIndexTrimmedAndNoTTLlessKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.StartRedis(t).Client()
	s := NewInvocations(rdb, time.Hour)
	t.Cleanup(s.Close)
	old := &record.Invocation{Summary: record.Summary{ID: record.NewInvocationID(), Function: "f", Mode: "sync", CreatedAt: time.Now().Add(-2 * time.Hour)}}
	if _, err := s.Create(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	s.trim()
	if n, err := rdb.ZCard(ctx, keyInvocationsByFunction("f")).Result(); err != nil || n != 0 {
		t.Fatalf("f's index after trimming an entry older than the TTL holds %d (%v)", n, err)
	}
	gone := record.NewInvocationID()
	if err := s.ReplayCreated(ctx, gone, record.ReplayID(gone)); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, keyInvocation(gone)).Result(); err != nil || n != 0 {
		t.Fatalf("ReplayCreated on a missing record made its key (%d, %v)", n, err)
	}
}
