// Package egress decides which network addresses fngate may connect to on
// behalf of an untrusted party, such as the callback URL an HTTP caller
// names. By default every address that reaches the inside of the network
// rather than the internet is refused: loopback, private (RFC 1918 and
// RFC 4193), link-local (cloud metadata at 169.254.169.254 included),
// carrier-grade NAT, multicast, unspecified and reserved ranges, in any of
// their IPv6 spellings. An operator allows some with a [Policy].
//
// The check belongs at dial time, on the address actually dialed
// ([Policy.DialContext]): a check of the resolved name before the request
// is defeated by a resolver that answers differently the second time (DNS
// rebinding).
package egress
