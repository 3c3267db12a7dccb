#!/usr/bin/env bash
# Sets up and builds slim (Release), then runs the whole test suite through ctest.
# Usage: scripts/test.sh [BUILD_DIR] [extra cmake arguments...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
"$root/scripts/setup.sh" "$build" "$@"
export SLIM_SHARED_DIR=${SLIM_SHARED_DIR:-$root/../shared}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
