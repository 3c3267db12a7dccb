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
  // Leaf 0: the vendor string in EBX, EDX, ECX.
  if (__get_cpuid(0, &a, &b, &c, &d)) f.intel = b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    unsigned xcr0 = 0;
    if (osxsave) {
      unsigned hi;
      __asm__("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
    }
    const bool ymm_saved = (xcr0 & 6u) == 6u;
    bool avx2 = false;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      avx2 = b & (1u << 5);
      // Leaf 7: EBX bits 16 AVX512F, 30 AVX512BW, 31 AVX512VL; ECX bit 11 AVX512_VNNI. The OS
      // must also save the opmask and ZMM registers (XCR0 bits 5-7).
      const bool avx512 = (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31));
      f.avx512_vnni = avx512 && (c & (1u << 11)) && (xcr0 & 0xE6u) == 0xE6u;
      // Leaf 7 sub-leaf 1 (EAX of sub-leaf 0 is the last sub-leaf): EAX bit 4 AVX-VNNI.
      if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx_vnni = (a & (1u << 4)) && ymm_saved;
    }
    f.avx2_fma_f16c = fma && avx && f16c && avx2 && ymm_saved;
    // The VNNI sets leave everything but their q8_0 / q4_0 kernels to the AVX2 set.
    f.avx512_vnni = f.avx512_vnni && f.avx2_fma_f16c;
    f.avx_vnni = f.avx_vnni && f.avx2_fma_f16c;
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
