package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/fngate/fngate/shared/event"
)

func TestCPU(t *testing.T) {
	t.Parallel()
	var d [sha256.Size]byte
	for range 3 {
		d = sha256.Sum256(d[:])
	}
	res, err := CPU(context.Background(), &event.Event{QueryStringParameters: map[string]string{"n": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.(map[string]any); m["n"] != 3 || m["digest"] != hex.EncodeToString(d[:]) {
		t.Fatalf("CPU(n=3) = %v", m)
	}
	if res, _ := CPU(context.Background(), &event.Event{}); res.(map[string]any)["n"] != DefaultCPURounds {
		t.Fatalf("CPU() = %v, want %d rounds", res, DefaultCPURounds)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CPU(ctx, &event.Event{QueryStringParameters: map[string]string{"n": "100000"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("CPU after its deadline: err = %v", err)
	}
}
