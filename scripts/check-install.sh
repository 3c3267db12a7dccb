#!/usr/bin/env bash
# Installs a built slim into a prefix, then builds against it the way users do: the CMake package
# (examples/consumer) and pkg-config (the complete program of docs/api.md), and runs both on the
# stories260K model. Usage: scripts/check-install.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$root/build}")
shared=${SLIM_SHARED_DIR:-$root/../shared}
model=$shared/models/stories260K
prefix=$build/install
rm -rf "$prefix" "$build/consumer" "$build/api-example"
cmake --install "$build" --prefix "$prefix" >/dev/null

echo "-- find_package(slim): examples/consumer"
cmake -S "$root/examples/consumer" -B "$build/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$build/consumer" >/dev/null
out=$("$build/consumer/consumer" "$model")
echo "$out"
[ -n "$out" ]

echo "-- pkg-config slim: the program of docs/api.md"
mkdir -p "$build/api-example"
sed -n '/<!-- example:begin -->/,/<!-- example:end -->/p' "$root/docs/api.md" | sed '1,2d;$d' | sed '$d' \
  > "$build/api-example/story.cpp"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig
# shellcheck disable=SC2046
g++ -O2 "$build/api-example/story.cpp" -o "$build/api-example/story" $(pkg-config --cflags --libs slim)
"$build/api-example/story" "$model" "Once upon a time"
echo "install check passed"
