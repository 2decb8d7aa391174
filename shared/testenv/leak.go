package testenv

import (
	"testing"

	"go.uber.org/goleak"
)

// VerifyTestMain runs the package's tests and fails them if goroutines
// are left behind (goleak), except those the in-process NATS server
// leaves by design:
//
//   - nats-server v2.15's stream sourcing (the invocation stream sources
//     the schedules stream) waits for its source consumer's create
//     response or 30 s, with no quit channel (server/stream.go,
//     trySetupSourceConsumer): a server shut down while a setup is
//     pending leaves that goroutine for up to 30 s. It holds nothing of
//     the test's.
func VerifyTestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*stream).trySetupSourceConsumer.func3"))
}
