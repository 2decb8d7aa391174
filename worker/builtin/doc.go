// Package builtin holds the Go functions the stock worker binary serves, for
// smoke tests, benchmarks and as examples of the worker SDK. They mirror the
// CloudBase examples: a greeting read from the query string, JSON POST
// processing and a RESTful users function, plus echo and a few functions
// that fail on purpose so that every error path can be tried over HTTP.
package builtin
