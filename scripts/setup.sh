#!/usr/bin/env bash
# setup.sh — install what pmetal needs on a fresh machine, then `npm ci`.
# Debian 12 (as root): the Vulkan loader, Mesa's lavapipe from bookworm-backports (Dawn
# refuses bookworm's 22.x driver), clang-19 with its sanitizer runtime and llvm-19 (the
# MSL host runtime, its AddressSanitizer mode and symbolizer).
# macOS: nothing beyond Node 20+ and the Xcode command-line tools.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -s)" = "Linux" ] && [ -f /etc/debian_version ]; then
  need=()
  have() { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | grep -q "^install ok installed $2"; }
  have libvulkan1 '' || need+=(libvulkan1)
  have mesa-vulkan-drivers '2[5-9]\.' || need+=(mesa-vulkan-drivers)
  command -v clang-19 >/dev/null || need+=(clang-19)
  have libclang-rt-19-dev '' || need+=(libclang-rt-19-dev)
  have llvm-19 '' || need+=(llvm-19)
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/pmetal-backports.list >/dev/null
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      -t bookworm-backports libvulkan1 mesa-vulkan-drivers clang-19 libclang-rt-19-dev llvm-19 >/dev/null
  fi
fi
npm ci --no-audit --no-fund
npm run build
