#!/usr/bin/env bash
# Installs the Debian packages slim builds with (only those missing), then configures and builds a
# tree. Usage: scripts/setup.sh [BUILD_DIR] [extra cmake arguments...]
# SLIM_BUILD_TARGETS="a b" builds only those targets.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/install-packages.sh"
build=${1:-$root/build}
shift || true

packages=(g++ cmake ninja-build pkg-config libeigen3-dev libxsimd-dev catch2 libbenchmark-dev
          nlohmann-json3-dev libpcre2-dev libicu-dev libcli11-dev libcpp-httplib-dev)
install_packages "${packages[@]}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
targets=()
for t in ${SLIM_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
