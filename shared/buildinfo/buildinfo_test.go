package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRead(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		name            string
		bi              *debug.BuildInfo
		version, commit string
		want            Info
	}{
		{"vcs stamp", stamped, "", "", Info{Version: "devel", Commit: "abc123", Modified: true, GoVersion: "go1.26.8"}},
		{"-X wins over the stamp", stamped, "v1.4.0", "def456", Info{Version: "v1.4.0", Commit: "def456", GoVersion: "go1.26.8"}},
		{"-X version alone", stamped, "v1.4.0", "", Info{Version: "v1.4.0", Commit: "abc123", Modified: true, GoVersion: "go1.26.8"}},
		{"go install @version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0"}}, "", "",
			Info{Version: "v1.3.0", Commit: Unknown, GoVersion: "go1.26.8"}},
		{"-buildvcs=false", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "", "",
			Info{Version: "devel", Commit: Unknown, GoVersion: "go1.26.8"}},
		{"no build info", nil, "", "", Info{Version: "devel", Commit: Unknown, GoVersion: Unknown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := read(tc.bi, tc.version, tc.commit); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	got := Info{Version: "v1.4.0", Commit: "abc123", Modified: true, GoVersion: "go1.26.8"}.String()
	if want := "fngate v1.4.0 commit abc123 (modified) go1.26.8"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCollector(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(Collector(Info{Version: "v1.4.0", Commit: "abc123", GoVersion: "go1.26.8"}))
	want := `
# HELP fngate_build_info Always 1; its labels name the running build (version, commit, Go version).
# TYPE fngate_build_info gauge
fngate_build_info{commit="abc123",goversion="go1.26.8",version="v1.4.0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "fngate_build_info"); err != nil {
		t.Error(err)
	}
}
