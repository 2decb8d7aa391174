package main

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/shared/testenv"
)

// awaitReply sends request until the worker whose run reports on done
// answers it, within timeout, and returns the reply; a worker that exits
// meanwhile fails the test at once.
func awaitReply(t *testing.T, done <-chan error, timeout time.Duration, what string, request func() (*nats.Msg, error)) *nats.Msg {
	t.Helper()
	var reply *nats.Msg
	testenv.Eventually(t, timeout, what, func() bool {
		select {
		case err := <-done:
			t.Fatalf("worker exited: %v", err)
		default:
		}
		var err error
		reply, err = request()
		return err == nil
	})
	return reply
}
