#!/usr/bin/env bash
# Sets up and builds slim (Release) with its tests, examples and benchmarks, then runs the whole
# test suite through ctest. The options are passed explicitly, so a folder that scripts/demo.sh or
# an earlier configure left with some of them off still builds everything; ctest fails when it
# finds no tests. Prints ctest's summary ("100% tests passed, 0 tests failed out of N") at the end.
# Usage: scripts/test.sh [BUILD_DIR] [extra cmake arguments...] (later arguments win)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
SLIM_BUILD_TARGETS="" "$root/scripts/setup.sh" "$build" -DSLIM_BUILD_TESTS=ON -DSLIM_BUILD_EXAMPLES=ON -DSLIM_BUILD_BENCHMARKS=ON \
  -DSLIM_FUZZ=OFF "$@"
# npm packages of the HTTP tests, into BUILD_DIR/npm (never into the source tree): the official
# openai client (openai_client), puppeteer-core, which drives Debian's Chromium (webui_browser), and
# ajv, the JSON Schema validator that checks constrained outputs (openai_client, schema_corpus).
. "$root/scripts/install-packages.sh"
install_packages chromium
command -v npm >/dev/null || install_packages nodejs npm
if [ ! -f "$build/npm/node_modules/openai/package.json" ] || [ ! -f "$build/npm/node_modules/puppeteer-core/package.json" ] ||
   [ ! -f "$build/npm/node_modules/ajv/package.json" ] || [ ! -f "$build/npm/node_modules/ajv-formats/package.json" ]; then
  npm install --prefix "$build/npm" --no-audit --no-fund --loglevel=error openai@6 puppeteer-core@24 ajv@8 ajv-formats@3 >/dev/null
fi
export SLIM_SHARED_DIR=${SLIM_SHARED_DIR:-$root/../shared}
ctest --test-dir "$build" --output-on-failure --no-tests=error -j"$(nproc)"
