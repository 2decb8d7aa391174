package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// ErrRefused reports a destination the policy does not allow.
var ErrRefused = errors.New("egress: destination refused")

// special are the ranges refused unless allowed, with why. IPv4-mapped
// IPv6 addresses are unmapped before the lookup; NAT64 and 6to4 addresses
// are checked by the IPv4 address they embed (see embedded).
var special = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"}, // "this network": 0.0.0.0 reaches the host itself
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // broadcast included
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "reserved"}, // IPv4-compatible, deprecated
	{netip.MustParsePrefix("64:ff9b:1::/48"), "private"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "private"}, // site-local, deprecated
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixToF4 = netip.MustParsePrefix("2002::/16")
)

// Special returns the kind of address ip is ("loopback", "private", ...)
// when it is one a policy refuses by default, and "" for a public address.
func Special(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	// Prefix.Contains is false for zoned addresses and for IPv4-mapped
	// IPv6 against IPv4 prefixes: normalise first.
	ip = ip.WithZone("").Unmap()
	for _, s := range special {
		if s.prefix.Contains(ip) {
			return s.what
		}
	}
	if v4, ok := embedded(ip); ok {
		return Special(v4)
	}
	return ""
}

// embedded is the IPv4 address a NAT64 (RFC 6052 well-known prefix) or a
// 6to4 address routes to.
func embedded(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToF4.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Policy is the set of special addresses and host names an operator
// allows. The zero Policy allows no special address.
type Policy struct {
	prefixes []netip.Prefix
	hosts    map[string]bool
}

// NewPolicy parses allow entries: CIDRs ("10.1.0.0/16"), single addresses
// ("::1") and host names ("hooks.internal"). A host name entry lets that
// name resolve to any address, special or not.
func NewPolicy(allow []string) (*Policy, error) {
	p := &Policy{hosts: map[string]bool{}}
	for _, e := range allow {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			continue
		case strings.Contains(e, "/"):
			pre, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("egress: allow entry %q: %w", e, err)
			}
			p.prefixes = append(p.prefixes, unmapPrefix(pre.Masked()))
		default:
			if ip, err := netip.ParseAddr(e); err == nil {
				ip = ip.WithZone("").Unmap()
				p.prefixes = append(p.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
				continue
			}
			h := normalHost(e)
			if !validHost(h) {
				return nil, fmt.Errorf("egress: allow entry %q is neither a CIDR, an address nor a host name", e)
			}
			p.hosts[h] = true
		}
	}
	return p, nil
}

// unmapPrefix turns ::ffff:a.b.c.d/n (n >= 96) into a.b.c.d/(n-96), so an
// operator's mapped spelling matches the unmapped addresses Check sees.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// HostAllowed reports whether host (a name from a URL) was allowed by
// name, so that it may resolve to anything.
func (p *Policy) HostAllowed(host string) bool {
	return p != nil && p.hosts[normalHost(host)]
}

// Check returns nil when ip may be dialed: it is public, or inside an
// allowed prefix. Otherwise an error wrapping ErrRefused.
func (p *Policy) Check(ip netip.Addr) error {
	what := Special(ip)
	if what == "" {
		return nil
	}
	ip = ip.WithZone("").Unmap()
	if p != nil {
		for _, pre := range p.prefixes {
			if pre.Contains(ip) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s is a %s address", ErrRefused, ip, what)
}

// control checks each address the dialer is about to connect to; address
// is always a literal IP and port here, after name resolution.
func (p *Policy) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialed address %q", ErrRefused, address)
	}
	return p.Check(ap.Addr())
}

// DialContext returns a dial function for an http.Transport that connects
// with d, checking every address actually dialed against p. Host names
// allowed by name are dialed without the check.
func (p *Policy) DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	checked := *d
	checked.ControlContext = p.control
	checked.Control = nil
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(addr); err == nil && p.HostAllowed(host) {
			return d.DialContext(ctx, network, addr)
		}
		return checked.DialContext(ctx, network, addr)
	}
}
