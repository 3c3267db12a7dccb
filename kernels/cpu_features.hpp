// What the CPU we run on can execute, read once from cpuid (x86) or the auxiliary vector (Arm).
#pragma once

namespace slim::kernels {

struct CpuFeatures {
  bool avx2_fma_f16c = false;  // x86-64: AVX2 + FMA + F16C, the set our *_avx2.cpp files assume
  bool avx512_vnni = false;    // x86-64: AVX-512 F + BW + VL + VNNI, with the OS saving ZMM state
  bool avx_vnni = false;       // x86-64: AVX-VNNI (VEX-encoded 256-bit vpdpbusd)
  bool intel = false;          // x86-64: cpuid's vendor is GenuineIntel (for tuning, never for results)
  bool neon = false;           // 64-bit Arm: Advanced SIMD (always present on AArch64)
  bool neon_dotprod = false;   // Armv8.2 SDOT/UDOT
  bool neon_i8mm = false;      // FEAT_I8MM SMMLA/USMMLA (with SDOT, which every such CPU has)
};

const CpuFeatures& cpu_features() noexcept;

}  // namespace slim::kernels
