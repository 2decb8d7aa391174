#!/usr/bin/env bash
# Refreshes the console screenshots shown in the README: runs the console's
# browser tests (headless Chromium against a real stack) and copies the key
# pages from their artifacts into gateway/console/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
fngate_need redis-server redis-server
fngate_need chromium chromium

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go test -count=1 -run 'TestBrowser' -artifacts -outputdir "$out" ./gateway/console/
mkdir -p gateway/console/screenshots
for name in routes route-form-error functions invocation-dead invocation-replayed live phone-routes; do
  f=$(find "$out" -name "$name.png" | head -n 1)
  [ -n "$f" ] || { echo "no screenshot $name.png" >&2; exit 1; }
  cp "$f" "gateway/console/screenshots/$name.png"
done
echo "screenshots updated in gateway/console/screenshots/"
