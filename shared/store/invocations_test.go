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
