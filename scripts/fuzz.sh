#!/usr/bin/env bash
# Builds every fuzz target with clang's libFuzzer (AddressSanitizer + UndefinedBehaviorSanitizer,
# leak detection on) and runs each for SECONDS (default 60) from a seed corpus taken from ../shared.
# Fails on any crash, leak, sanitizer report or timeout; the input is left in build-fuzz/findings/.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/install-packages.sh"
seconds=${1:-60}
shift || true
shared=${SLIM_SHARED_DIR:-$root/../shared}
export SLIM_SHARED_DIR=$shared  # targets that need a model read it
build=$root/build-fuzz

packages=(clang-14 libclang-rt-14-dev libomp-14-dev)
install_packages "${packages[@]}"
"$root/scripts/setup.sh" "$build" -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLIM_FUZZ=ON -DSLIM_SANITIZE=address,undefined \
  -DSLIM_BUILD_EXAMPLES=OFF -DSLIM_BUILD_BENCHMARKS=OFF -DSLIM_SHARED_DIR="$shared"

# Seed corpus of each target, copied from ../shared into the build folder.
seed() {
  local name=$1; shift
  mkdir -p "$build/corpus/$name"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$build/corpus/$name/$(echo "$f" | md5sum | cut -c1-16)"; done
  if [ -d "$root/tests/fuzz/regressions/$name" ]; then cp -r "$root/tests/fuzz/regressions/$name/." "$build/corpus/$name/"; fi
  return 0
}
seed safetensors "$shared"/fixtures/models/{llama,qwen2-bf16}/model.safetensors
seed gguf "$shared"/fixtures/gguf/vocab/ggml-vocab-{llama-spm,phi-3}.gguf "$shared"/fixtures/gguf/models/{llama,qwen2}/model-q4_0.gguf
seed config "$shared"/configs/*.json "$shared"/fixtures/models/*/config.json
# The small tokenizer.json files (the 9-33 MB ones would make every run slow).
seed tokenizer_json "$shared"/fixtures/tokenizers/{stories260K,mistral}/tokenizer.json
seed tokenizer_encode  # texts committed in tests/fuzz/regressions/tokenizer_encode
seed chat_template
seed server_request  # request bodies committed in tests/fuzz/regressions/server_request
seed grammar  # grammars and schemas committed in tests/fuzz/regressions/grammar
# The chat templates of ../shared's fixtures, as template sources: the "chat_template" string of
# each fixture file, JSON-unescaped by perl (Essential on Debian; no JSON module needed).
for f in "$shared"/fixtures/chat/*.json; do
  perl -0777 -ne 'if (/"chat_template"\s*:\s*"((?:[^"\\]|\\.)*)"/s) { my $s = $1;
    my %e = (n => "\n", t => "\t", r => "\r", b => "\b", f => "\f", "/" => "/", "\\" => "\\", "\"" => "\"");
    $s =~ s/\\u([0-9a-fA-F]{4})|\\(.)/defined $1 ? do { my $c = chr(hex $1); utf8::encode($c); $c } : $e{$2}/ge;
    print $s }' "$f" >"$build/corpus/chat_template/$(basename "$f" .json).jinja"
done

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$root"/tests/fuzz/fuzz_*.cpp; do n=$(basename "$f" .cpp); targets+=("${n#fuzz_}"); done
fi
mkdir -p "$build/findings"
status=0
for name in "${targets[@]}"; do
  echo "== fuzz_$name for ${seconds}s"
  mkdir -p "$build/corpus/$name"
  max_len=1048576
  [ "$name" = tokenizer_json ] && max_len=2097152  # the mistral seed is 1.8 MB
  if ! "$build/tests/fuzz/fuzz_$name" "$build/corpus/$name" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$build/findings/$name-" \
      2>"$build/findings/$name.log"; then
    echo "fuzz_$name FAILED; see $build/findings/$name.log"; tail -40 "$build/findings/$name.log"; status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/findings/$name.log" || true
done
exit $status
