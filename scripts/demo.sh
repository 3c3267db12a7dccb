#!/usr/bin/env bash
# Sets up and builds slim-generate (Release), then generates text with a model folder: the prompt,
# then its continuation, on stdout; prompt and generation speed on stderr.
# Usage: scripts/demo.sh [MODEL_DIR] [PROMPT]
# SLIM_BUILD_DIR is the build folder (default build/); SLIM_CMAKE_ARGS adds cmake arguments.
# Only slim-generate is built and no other option of the folder is changed, so scripts/test.sh
# runs in the same folder before or after.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/../shared/models/stories260K}
prompt=${2:-Once upon a time}
build=${SLIM_BUILD_DIR:-$root/build}
# shellcheck disable=SC2086  # SLIM_CMAKE_ARGS is a list of arguments
SLIM_BUILD_TARGETS=slim-generate "$root/scripts/setup.sh" "$build" -DSLIM_BUILD_EXAMPLES=ON ${SLIM_CMAKE_ARGS:-}
"$build/examples/slim-generate" --model "$model" --prompt "$prompt" --max-tokens 200
