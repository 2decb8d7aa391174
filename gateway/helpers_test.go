package gateway_test

import (
	"context"
	"maps"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/subject"
	"github.com/fngate/fngate/shared/testenv"
)

// runCounter is a function that answers "ok" and counts its runs by
// request id.
type runCounter struct {
	mu   sync.Mutex
	runs map[string]int
}

func (c *runCounter) Invoke(_ context.Context, ev *event.Event) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil {
		c.runs = map[string]int{}
	}
	c.runs[ev.RequestContext.RequestID]++
	return "ok", nil
}

// counts returns the runs so far by request id.
func (c *runCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.runs)
}

// lastDeadLetter returns the last dead letter of function fn in the stack's
// dead-letter stream.
func lastDeadLetter(t *testing.T, s *gt.Stack, fn string) *jetstream.RawStreamMsg {
	t.Helper()
	js, _ := jetstream.New(testenv.Conn(t, s.NATS))
	st, err := js.Stream(context.Background(), subject.StreamDead)
	if err != nil {
		t.Fatal(err)
	}
	dsub, _ := subject.Dead(fn)
	msg, err := st.GetLastMsgForSubject(context.Background(), dsub)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
