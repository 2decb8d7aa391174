package console

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	th := newThrottle(3, 10*time.Second, 100)
	th.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := th.take("a"); !ok {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	ok, wait := th.take("a")
	if ok || wait != 10*time.Second {
		t.Fatalf("past the burst: %v, retry after %s", ok, wait)
	}
	if ok, _ := th.take("b"); !ok {
		t.Fatal("another client refused")
	}
	now = now.Add(5 * time.Second)
	if ok, wait := th.take("a"); ok || wait != 5*time.Second {
		t.Fatalf("half refilled: %v, retry after %s", ok, wait)
	}
	now = now.Add(5 * time.Second)
	if ok, _ := th.take("a"); !ok {
		t.Fatal("refilled attempt refused")
	}

	// Thousands of addresses never grow the table past its bound, and a
	// throttled client seen recently outlives the flood's oldest entries.
	for i := range 5000 {
		th.take(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		if i%50 == 0 {
			now = now.Add(time.Millisecond)
			th.take("a") // keeps "a" recent and empty
		}
		if len(th.clients) > 100 {
			t.Fatalf("%d clients remembered, bound 100", len(th.clients))
		}
	}
	if ok, _ := th.take("a"); ok {
		t.Fatal("a throttled client was forgotten during the flood")
	}
	// Clients whose buckets have refilled are forgotten first.
	now = now.Add(time.Minute)
	th.take("new")
	if len(th.clients) != 1 {
		t.Fatalf("%d clients after everyone refilled, want only the new one", len(th.clients))
	}
}

func TestClientOf(t *testing.T) {
	for addr, want := range map[string]string{
		// An IPv4 client, also as an IPv4-mapped IPv6 address, is its address;
		"127.0.0.1:5555": "127.0.0.1", "[::ffff:10.1.2.3]:80": "10.1.2.3",
		// an IPv6 client is its /64, which one user commonly holds whole.
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64", "[2001:db8:1:2:ff::1]:443": "2001:db8:1:2::/64",
	} {
		r := httptest.NewRequest("POST", "/console/login", nil)
		r.RemoteAddr = addr
		if got := clientOf(r); got != want {
			t.Errorf("clientOf(%s) = %s, want %s", addr, got, want)
		}
	}
}
