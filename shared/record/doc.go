// Package record defines what fngate keeps about calls, apart from where
// it keeps it: the record of an invocation (its status, attempts, result
// and errors), the public view of it, the record of a claimed idempotency
// key, and the errors a store of them reports.
//
// The consumers define the store interfaces they need (the gateway's
// InvocationStore and IdempotencyStore, the worker's RecordStore) in terms
// of these types; package store is the Redis implementation, and package
// store/storetest the conformance suite that every implementation passes.
// Nothing here imports a database client, so function authors linking the
// worker library do not link one either.
package record
