#!/usr/bin/env bash
# Renders a pmetal HTML report (conformance or peers) to a PNG with headless Chromium, to
# look at the charts without a desktop. Needs Debian's chromium (apt-get install chromium).
#   bash scripts/render-report.sh peers.html peers.png [width] [height]
set -euo pipefail
in=$(realpath "$1"); out=${2:-${1%.html}.png}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size="${3:-1300},${4:-2400}" --screenshot="$(realpath -m "$out")" "file://$in" 2>/dev/null
echo "wrote $out"
