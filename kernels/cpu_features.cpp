#include "kernels/cpu_features.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace slim::kernels {
namespace {

CpuFeatures detect() noexcept {
  CpuFeatures f;
#if defined(__x86_64__)
  // cpuid leaf 1: ECX bit 12 FMA, 27 OSXSAVE, 28 AVX, 29 F16C; leaf 7: EBX bit 5 AVX2. The OS must
  // also save the YMM registers (XCR0 bits 1 and 2). (Intel SDM vol. 2A, CPUID.)
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    bool ymm_saved = false;
    if (osxsave) {
      unsigned lo, hi;
      __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      ymm_saved = (lo & 6u) == 6u;
    }
    bool avx2 = false;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) avx2 = b & (1u << 5);
    f.avx2_fma_f16c = fma && avx && f16c && avx2 && ymm_saved;
  }
#elif defined(__aarch64__)
  f.neon = true;
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
  f.neon_dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
#if defined(__linux__) && defined(HWCAP2_I8MM)
  f.neon_i8mm = f.neon_dotprod && (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#endif
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() noexcept {
  static const CpuFeatures features = detect();  // immutable after the first call
  return features;
}

}  // namespace slim::kernels
