// Internal to the x86 K-quant kernel files (matmul_kquants_avx2.cpp, ..._avx512_vnni.cpp): the
// 6-bit scales and mins of a q4_k / q5_k block unpacked with SSE shuffles. In an unnamed namespace,
// so each including file gets its own copy built with its own ISA flags.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace slim::kernels {
namespace {

// Bytes 0-7: the eight 6-bit scales of a q4_k / q5_k block, bytes 8-15 its eight mins
// (unpack_scale_mins(), four bytes at a time). Reads 16 bytes at s: the 12 scale bytes and the
// first 4 of qs, inside the block.
inline __m128i scales_and_mins(const uint8_t* s) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  // Four-byte pieces: a = [s0-3 | s8-11 | s4-7 | s8-11], b = [0 | s0-3 | 0 | s4-7].
  const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const __m128i b = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  // Low bits: 6 of s0-3 / s4-7, the low nibbles of s8-11 (scales 4-7), the high ones (mins 4-7);
  // top bits: bits 6-7 of s0-3 / s4-7 moved to bits 4-5 (shifts within 16-bit lanes move each
  // byte's bits into its own byte, the masks keep only those).
  const __m128i low = _mm_or_si128(_mm_and_si128(a, _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0)),
                                   _mm_and_si128(_mm_srli_epi16(a, 4), _mm_setr_epi32(0, 0, 0, 0x0F0F0F0F)));
  return _mm_or_si128(low, _mm_and_si128(_mm_srli_epi16(b, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030)));
}

}  // namespace
}  // namespace slim::kernels
