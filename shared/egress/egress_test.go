package egress_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/egress"
)

func TestSpecial(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ip, want string }{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"169.254.169.254", "link-local"},
		{"::ffff:169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"255.255.255.255", "reserved"},
		{"::127.0.0.1", "reserved"},          // IPv4-compatible
		{"64:ff9b::7f00:1", "loopback"},      // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", "link-local"}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::1", "loopback"},       // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", "private"},      // 6to4 of 192.168.1.1
		{"93.184.216.34", ""},
		{"8.8.8.8", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"2606:4700:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
	} {
		if got := egress.Special(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Special(%s) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	p, err := egress.NewPolicy([]string{"127.0.0.0/8", "::1", "10.1.0.0/16", "::ffff:192.168.7.0/120", "Hooks.Internal."})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip      string
		allowed bool
	}{
		{"127.0.0.1", true},
		{"::ffff:127.0.0.2", true},
		{"::1", true},
		{"10.1.2.3", true},
		{"10.2.0.1", false},
		{"192.168.7.9", true},
		{"192.168.8.9", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"8.8.8.8", true},
	} {
		err := p.Check(netip.MustParseAddr(tc.ip))
		if (err == nil) != tc.allowed || (err != nil && !errors.Is(err, egress.ErrRefused)) {
			t.Errorf("Check(%s) = %v, want allowed %v", tc.ip, err, tc.allowed)
		}
	}
	if !p.HostAllowed("hooks.internal") || !p.HostAllowed("HOOKS.internal.") || p.HostAllowed("other.internal") {
		t.Error("HostAllowed does not match names case-insensitively with an optional trailing dot")
	}
	var zero *egress.Policy
	if zero.Check(netip.MustParseAddr("127.0.0.1")) == nil || zero.Check(netip.MustParseAddr("1.1.1.1")) != nil {
		t.Error("a nil policy must refuse special addresses only")
	}
	for _, bad := range []string{"10.0.0.0/33", "not a host!", "a..b", "1.2.3.4/x"} {
		if _, err := egress.NewPolicy([]string{bad}); err == nil {
			t.Errorf("NewPolicy(%q) accepted", bad)
		}
	}
}

// TestDialContext: the dial-time check refuses a loopback listener whether
// it is named by address or by a name that resolves to it, and lets an
// allowed one through.
func TestDialContext(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	d := &net.Dialer{Timeout: 2 * time.Second}
	ctx := context.Background()

	deny, _ := egress.NewPolicy(nil)
	for _, addr := range []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("localhost", port)} {
		c, err := deny.DialContext(d)(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			t.Fatalf("dial %s allowed", addr)
		}
		if !errors.Is(err, egress.ErrRefused) {
			t.Fatalf("dial %s = %v, want ErrRefused", addr, err)
		}
	}
	for _, allow := range [][]string{{"127.0.0.0/8", "::1"}, {"localhost"}} {
		p, _ := egress.NewPolicy(allow)
		c, err := p.DialContext(d)(ctx, "tcp", net.JoinHostPort("localhost", port))
		if err != nil {
			t.Fatalf("allow %v: dial localhost = %v", allow, err)
		}
		c.Close()
	}
}

// FuzzSpecial: no spelling of an address (mapped, zoned, NAT64, 6to4)
// reaches a special IPv4 address past Check.
func FuzzSpecial(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:127.0.0.1", "::ffff:7f00:1", "fe80::1%lo", "64:ff9b::7f00:1",
		"2002:7f00:1::", "0:0:0:0:0:ffff:a9fe:a9fe", "::ffff:0a00:0001", "10.0.0.1", "8.8.8.8"} {
		f.Add(s)
	}
	p, _ := egress.NewPolicy(nil)
	f.Fuzz(func(t *testing.T, s string) {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		plain := ip.WithZone("").Unmap()
		if plain.Is4() && egress.Special(plain) != "" {
			// Every IPv6 form of a special IPv4 address is refused too.
			for _, form := range []netip.Addr{netip.AddrFrom16(plain.As16()), nat64Of(plain), sixToFourOf(plain)} {
				if p.Check(form) == nil {
					t.Fatalf("%s (from %q) allowed", form, s)
				}
			}
		}
		if egress.Special(ip) != "" && p.Check(ip) == nil {
			t.Fatalf("%q is %s but allowed", s, egress.Special(ip))
		}
		if ip.Zone() != "" && egress.Special(ip) != egress.Special(ip.WithZone("")) {
			t.Fatalf("%q: the zone changes the verdict", s)
		}
	})
}

func nat64Of(v4 netip.Addr) netip.Addr {
	b := [16]byte{0, 0x64, 0xff, 0x9b}
	a := v4.As4()
	copy(b[12:], a[:])
	return netip.AddrFrom16(b)
}

func sixToFourOf(v4 netip.Addr) netip.Addr {
	b := [16]byte{0x20, 0x02}
	a := v4.As4()
	copy(b[2:], a[:])
	return netip.AddrFrom16(b)
}
