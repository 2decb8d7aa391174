package worker_test

import (
	"github.com/fngate/fngate/shared/store/storetest"
	"github.com/fngate/fngate/worker"
)

// A store that passes the conformance suite (package storetest) serves
// the worker: the records it asks for are part of the suite's.
var _ worker.RecordStore = storetest.Invocations(nil)
