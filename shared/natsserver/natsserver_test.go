package natsserver_test

import (
	"testing"
	"time"

	"github.com/fngate/fngate/shared/natsserver"
)

// TestSync: FNGATE_NATS_SYNC's values reach the server's JetStream.
func TestSync(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want natsserver.Sync
	}{
		{"always", natsserver.Sync{Always: true}},
		{"ALWAYS", natsserver.Sync{Always: true}},
		{"1s", natsserver.Sync{Interval: time.Second}},
		{"", natsserver.Sync{}}, // the default
	} {
		var got natsserver.Sync
		if tc.in != "" {
			var err error
			if got, err = natsserver.ParseSync(tc.in); err != nil || got != tc.want {
				t.Fatalf("ParseSync(%q) = %+v, %v", tc.in, got, err)
			}
		}
		s, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:-1", StoreDir: t.TempDir(), Sync: got})
		if err != nil {
			t.Fatal(err)
		}
		jc := s.JetStreamConfig()
		s.Shutdown()
		s.WaitForShutdown()
		want := tc.want
		if want == (natsserver.Sync{}) {
			want = natsserver.DefaultSync
		}
		if jc.SyncAlways != want.Always || !want.Always && jc.SyncInterval != want.Interval {
			t.Errorf("%q: server syncs always=%v every %s, want %+v", tc.in, jc.SyncAlways, jc.SyncInterval, want)
		}
	}
	for _, bad := range []string{"sometimes", "1ms", "-1s", "0"} {
		if _, err := natsserver.ParseSync(bad); err == nil {
			t.Errorf("ParseSync(%q) accepted", bad)
		}
	}
}
