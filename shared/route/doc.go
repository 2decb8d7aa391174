// Package route holds fngate's route model: a (domain, trigger path)
// association with a function, its validation, the routes file format, and
// [Table], the immutable matcher each gateway consults on every request.
// A table is changed by [Table.Edit], which makes a new table sharing every
// domain the change did not touch, and a store publishes each change as a
// [Change] that gateways apply that way.
//
// Matching follows CloudBase's HTTP access service. The Host header is
// lower-cased and its port stripped. Domains are tried from the most to the
// least specific: the exact host, then "default" (when the host is one of
// the default domains), then "*". Within the first domain that has a
// matching trigger path, the longest trigger path wins, matched on segment
// boundaries: /api matches /api and /api/x but not /apix, and / matches
// everything. Trailing slashes are ignored on both sides.
package route
