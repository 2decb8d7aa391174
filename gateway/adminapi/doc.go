// Package adminapi is the gateway's admin API as Go types: the bodies the
// HTTP admin API at /admin/ reads and answers, its error body, and [API],
// the same calls as Go methods.
//
// The gateway implements API (gateway.Gateway.Admin) and its HTTP handlers
// are thin codecs around it; the operator console (package console)
// depends on API alone, so neither imports the other and no type is
// written twice. A failed call returns an [*Error]: the HTTP status, code,
// message and field that the HTTP API answers for it, made by the gateway's
// one mapping from errors to HTTP.
package adminapi
