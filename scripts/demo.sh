#!/usr/bin/env bash
# Sets up and builds slim (Release), then generates text with a model folder.
# Usage: scripts/demo.sh [MODEL_DIR] [PROMPT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/../shared/models/stories260K}
prompt=${2:-Once upon a time}
"$root/scripts/setup.sh" "$root/build" -DSLIM_BUILD_TESTS=OFF -DSLIM_BUILD_BENCHMARKS=OFF
"$root/build/examples/slim-generate" --model "$model" --prompt "$prompt" --max-tokens 200
