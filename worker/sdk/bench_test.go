package sdk_test

import (
	"context"
	"testing"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/worker/sdk"
)

// BenchmarkJSON is a typed JSON call as the worker runs it: decode the
// body, call the function, turn the result into the reply.
func BenchmarkJSON(b *testing.B) {
	type order struct {
		Item string `json:"item"`
		Qty  int    `json:"qty"`
	}
	type receipt struct {
		Item  string `json:"item"`
		Total int    `json:"total"`
	}
	h := sdk.JSON(func(_ context.Context, _ *sdk.Event, o order) (receipt, error) {
		return receipt{Item: o.Item, Total: o.Qty * 3}, nil
	})
	ev := &sdk.Event{Body: `{"item":"tea","qty":2}`}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v, err := h.Invoke(ctx, ev)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := event.FromGo(v); err != nil {
			b.Fatal(err)
		}
	}
}
