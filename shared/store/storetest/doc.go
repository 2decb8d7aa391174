// Package storetest is the conformance suite of fngate's stores: the
// behaviour the gateway and the worker rely on from a route table
// (TestRoutes), invocation records (TestInvocations) and idempotency keys
// (TestIdempotency), whatever holds them. Package store's Redis
// implementation runs it on a single server, on Sentinel and on Cluster; a
// new backend is a package that implements the interfaces below and calls
// the three functions from its tests, as Watermill's pubsub/tests and
// River's driver tests are used.
//
// Each subtest asks its newStore for a store and needs it empty. Subtests
// run one after another, never in parallel, so newStore may empty a
// server that all of them share.
package storetest
