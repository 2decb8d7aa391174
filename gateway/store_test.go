package gateway_test

import (
	"github.com/fngate/fngate/gateway"
	"github.com/fngate/fngate/shared/store/storetest"
)

// A store that passes the conformance suite (package storetest) serves
// the gateway: each interface the gateway asks for is part of the suite's.
var (
	_ gateway.RouteStore       = storetest.Routes(nil)
	_ gateway.InvocationStore  = storetest.Invocations(nil)
	_ gateway.IdempotencyStore = storetest.Idempotency(nil)
)
