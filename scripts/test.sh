#!/usr/bin/env bash
# Runs every check: gofmt, go mod tidy, go vet, staticcheck, the deployment
# files' checks (deployments/verify), and go test -race over the whole
# module.
# Integration tests start a real in-process nats-server and real redis-server
# processes on free loopback ports (single servers, a Sentinel group, a
# Cluster); this script installs redis-server, redis-tools and Node.js from
# Debian's packages when they are missing, so nothing is skipped; likewise
# Chromium, which the console's tests drive headless. Test artifacts
# (the console's screenshots) are kept under .artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh

fngate_need redis-server redis-server
fngate_need redis-cli redis-tools # redis-cli --cluster create, for the Cluster tests
fngate_need_node
fngate_need python3 python3 # the Python runtime's tests
fngate_need chromium chromium

# The deployment files' checks (deployments/verify) run in the background,
# at the lowest CPU priority, from the start: a module of its own, so that
# fngate's go.mod does not grow by the Kubernetes, Helm and compose
# libraries, whose compile (minutes on an empty build cache) then fills
# the cycles the steps below leave idle instead of adding to them. They
# check: helm lint and helm template (Helm's packages at the version
# pinned in its go.mod) for the chart's default values and its ci/
# variants, every rendered object strictly decoded into its Kubernetes
# type, compose.yaml loaded by compose-go. Their result is reported, and
# fails the run, at the end.
tmp=$(mktemp -d)
verify_pid=
# Its own session (process group), so that leaving early stops all of it.
trap '[ -n "$verify_pid" ] && kill -- "-$verify_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
setsid bash -c '
  set -euo pipefail
  cd deployments/verify
  if ! tidy=$(go mod tidy -diff 2>&1); then
    echo "go mod tidy would change deployments/verify/go.mod/go.sum:" >&2
    echo "$tidy" >&2
    exit 1
  fi
  nice -n 19 go vet ./...
  nice -n 19 go test -count=1 -timeout 20m ./...
' >"$tmp/verify.log" 2>&1 &
verify_pid=$!

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
echo "== go mod tidy"
# go.mod and go.sum must be what tidy makes them (test-only modules such as
# chromedp are direct requirements, not "// indirect"). -diff changes
# nothing; it needs the module cache or the proxy for test dependencies of
# dependencies that were never downloaded.
if ! tidy=$(go mod tidy -diff 2>&1); then
  echo "go mod tidy would change go.mod/go.sum (run 'go mod tidy' and commit):" >&2
  echo "$tidy" >&2
  exit 1
fi
# vet, staticcheck and the tests below all build with -race: on an empty
# build cache every dependency (nats-server, gin, chromedp, ...) is then
# compiled once, where a plain vet and staticcheck would each need their
# own non-race build first (about 4.5 minutes of a 2-core machine).
echo "== go vet"
go vet -race ./...
echo "== staticcheck"
# Built without -race (it runs for a minute and the detector would slow
# it); its package loading (go list -export) builds with -race through
# GOFLAGS, sharing the compile above.
GOBIN="$tmp" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOFLAGS="${GOFLAGS:+$GOFLAGS }-race" "$tmp/staticcheck" ./...
echo "== go test -race"
# -p 2: the machines have two cores; the integration tests start servers.
rm -rf .artifacts && mkdir -p .artifacts
go test -race -count=1 -p 2 -timeout 20m -artifacts -outputdir "$PWD/.artifacts" "$@" ./...
echo "== deployments: Helm chart and compose.yaml (deployments/verify)"
status=0
wait "$verify_pid" || status=$?
verify_pid=
cat "$tmp/verify.log"
exit "$status"
