// Package buildinfo says which build of fngate is running: its version and
// commit, printed by "gateway version" and "worker version" and exported by
// both as the fngate_build_info gauge.
//
// The commit comes from the VCS stamp that "go build" embeds when it builds
// inside a git checkout (runtime/debug.ReadBuildInfo's vcs.revision);
// -buildvcs=false, a source tarball or "go run" leave it out. A release
// build sets both at link time instead, which wins over the stamp:
//
//	go build -ldflags "-X github.com/fngate/fngate/shared/buildinfo.version=v1.4.0 \
//	  -X github.com/fngate/fngate/shared/buildinfo.commit=$(git rev-parse HEAD)" ./gateway/cmd/gateway
package buildinfo

import (
	"cmp"
	"fmt"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Set with -ldflags -X (see the package doc); empty: read from the build.
var version, commit string

// Unknown stands for a version or commit the build does not carry.
const Unknown = "unknown"

// Info identifies a build.
type Info struct {
	// Version is the -X version, else the main module's version when built
	// as a module dependency (go install ...@v1.4.0), else "devel".
	Version string
	// Commit is the -X commit, else the VCS revision, else Unknown.
	Commit string
	// Modified: built from a checkout with uncommitted changes.
	Modified  bool
	GoVersion string
}

// Get returns this binary's build.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return read(bi, version, commit)
}

// read is Get over a given build and -X values, for tests.
func read(bi *debug.BuildInfo, version, commit string) Info {
	in := Info{Version: version, Commit: commit, GoVersion: Unknown}
	if bi == nil {
		in.Version, in.Commit = cmp.Or(in.Version, "devel"), cmp.Or(in.Commit, Unknown)
		return in
	}
	in.GoVersion = bi.GoVersion
	if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		in.Version = bi.Main.Version
	}
	if in.Commit == "" { // an -X commit says nothing of the checkout's state
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Commit = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	in.Version, in.Commit = cmp.Or(in.Version, "devel"), cmp.Or(in.Commit, Unknown)
	return in
}

// String is what "gateway version" prints: one line, e.g.
// "fngate v1.4.0 commit 1f0c2e9... go1.26.8".
func (in Info) String() string {
	c := in.Commit
	if in.Modified {
		c += " (modified)"
	}
	return fmt.Sprintf("fngate %s commit %s %s", in.Version, c, in.GoVersion)
}

// Collector exports in as the gauge fngate_build_info{version,commit,goversion} = 1,
// so that dashboards can tell which build each process runs.
func Collector(in Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "fngate_build_info",
		Help:        "Always 1; its labels name the running build (version, commit, Go version).",
		ConstLabels: prometheus.Labels{"version": in.Version, "commit": in.Commit, "goversion": in.GoVersion},
	})
	g.Set(1)
	return g
}
