// Package subject builds every name fngate puts on the NATS wire: invocation
// subjects, queue groups, streams and consumers. What the messages carry,
// their headers included, is package event's.
//
// Function names are validated here (see [ValidFunction]) and nowhere else,
// so a name that reaches a subject can never carry a wildcard, a dot or
// whitespace. Anything taken from a URL must go through [Invoke], which
// refuses invalid names instead of escaping them.
package subject
