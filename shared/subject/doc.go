// Package subject builds every name fngate puts on the NATS wire: invocation
// subjects, queue groups and message header names.
//
// Function names are validated here (see [ValidFunction]) and nowhere else,
// so a name that reaches a subject can never carry a wildcard, a dot or
// whitespace. Anything taken from a URL must go through [Invoke], which
// refuses invalid names instead of escaping them.
package subject
