#!/usr/bin/env bash
# Cross-compiles the kernel tests for 64-bit Arm (cmake/aarch64-linux-gnu.cmake) and runs them under
# qemu-aarch64 for each kernel set: NEON with the int8 matrix multiply (qemu's default CPU "max" has
# it, and the dot product), NEON with the dot product on a CPU without i8mm (neoverse-n1), NEON with
# widening multiplies on a CPU without either (cortex-a53, Armv8.0), and the
# portable xsimd code, plus one end-to-end model test (the llama fixture in f32 and q8_0, tagged
# [arm] in tests/test_quant_models.cpp) for each. Installs g++-aarch64-linux-gnu and
# qemu-user-static when missing.
# Usage: scripts/arm-test.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/install-packages.sh"
build=${1:-$root/build-arm}

# The library's compiled dependencies (ICU, PCRE2) come as Debian's arm64 packages (multiarch).
dpkg --print-foreign-architectures | grep -qx arm64 || { [ "$(id -u)" -eq 0 ] && dpkg --add-architecture arm64 || sudo dpkg --add-architecture arm64; }
packages=(g++-aarch64-linux-gnu qemu-user-static libicu-dev:arm64 libpcre2-dev:arm64 libgomp1:arm64)
install_packages "${packages[@]}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLIM_WERROR=ON \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
  -DSLIM_BUILD_EXAMPLES=OFF -DSLIM_BUILD_BENCHMARKS=OFF >/dev/null
tests=(test_kernels test_quant)
cmake --build "$build" -j"$(nproc)" --target "${tests[@]}" test_quant_models
shared=${SLIM_SHARED_DIR:-$root/../shared}

export QEMU_LD_PREFIX=/  # Debian's arm64 runtime (multiarch); see cmake/aarch64-linux-gnu.cmake
run() {  # run NAME [VAR=VALUE...]: every test program with that environment
  local name=$1
  shift
  echo "== arm64: $name"
  for t in "${tests[@]}"; do env "$@" qemu-aarch64-static "$build/tests/$t"; done
  env "$@" SLIM_SHARED_DIR="$shared" qemu-aarch64-static "$build/tests/test_quant_models" "[arm]"
}
run "neon_i8mm (cpu max)" SLIM_KERNELS=neon_i8mm
run "neon_dotprod without i8mm (neoverse-n1)" QEMU_CPU=neoverse-n1 SLIM_KERNELS=neon_dotprod SLIM_EXPECT_UNSUPPORTED=neon_i8mm
run "neon without dotprod (cortex-a53)" QEMU_CPU=cortex-a53 SLIM_KERNELS=neon SLIM_EXPECT_UNSUPPORTED=neon_dotprod,neon_i8mm
run "portable xsimd" QEMU_CPU=cortex-a53 SLIM_KERNELS=xsimd SLIM_EXPECT_UNSUPPORTED=neon_dotprod,neon_i8mm,avx2,avx512_vnni,avx_vnni
