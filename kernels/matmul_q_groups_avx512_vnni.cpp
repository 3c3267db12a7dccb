// AVX-512 VNNI matmul for q8_0 / q4_0 / q4_1 / q5_0 / q5_1 weights in the groups8 layout
// (q_groups_vnni.hpp): vpdpbusd on 512-bit registers, each loading two of a group's 32-byte
// registers. Built with -mavx512f -mavx512bw -mavx512vl -mavx512vnni (and the AVX2 set's flags)
// and only called after cpu_features() confirmed them all.
#include "kernels/vnni_512.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace slim::kernels::avx512_vnni {
namespace {

// q5_0 (GroupQ5_0): q4_0's nibbles, each register's fifth bits added as 16 under the mask of its
// two bit planes of qh (one vptestmb, one masked byte add), and the offset 16 taken off with the
// activation sums as q4_0's 8 is. The quants 0..31 against int8 activations keep every dot exact.
// The tail blocks take their fifth bits from their GGUF qh the same way. q5_1 reads the same
// bits, without the offset and with a minimum (VnniQ5_1).
struct VnniQ5_0 : VnniQ4<V512> {
  using Group = GroupQ5_0;
  using Block = BlockQ5_0;
  static constexpr int32_t kOffset = 16;
  template <typename Gr>  // GroupQ5_0, GroupQ5_1
  static W load(const Gr& g) {
    W w = load_qs(g.qs);
    // Register m holds the 32-byte registers slot_reg(2m) and slot_reg(2m + 1): their planes of
    // the 32 bytes of qh, seen in both halves.
    static constexpr auto kSelect = [] {
      std::array<std::array<uint8_t, 64>, kRegs> select{};
      for (int m = 0; m < kRegs; ++m)
        for (int p = 0; p < 64; ++p) select[m][p] = static_cast<uint8_t>(1 << slot_reg(2 * m + p / 32));
      return select;
    }();
    const __m512i planes = _mm512_maskz_broadcast_i64x4(0xFF, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g.qh)));
    for (int m = 0; m < kRegs; ++m) {
      const __mmask64 fifth = _mm512_test_epi8_mask(planes, _mm512_loadu_si512(kSelect[m].data()));
      w.v[m] = _mm512_mask_add_epi8(w.v[m], fifth, w.v[m], _mm512_set1_epi8(16));
    }
    return w;
  }
  // lo: values 0-15 of b0 then of b1, hi: values 16-31 of both (VnniQ4::load_pair), so lo takes
  // bits 0-15 of each block's fifth bits and hi bits 16-31.
  template <typename B>  // BlockQ5_0, BlockQ5_1
  static void load_pair(const B& b0, const B& b1, __m256i& lo, __m256i& hi) {
    VnniQ4<V512>::load_pair(b0, b1, lo, hi);
    const __m256i sixteen = _mm256_set1_epi8(16);
    const uint32_t h0 = q5_high_bits(b0.qh), h1 = q5_high_bits(b1.qh);
    lo = _mm256_mask_add_epi8(lo, _cvtu32_mask32((h0 & 0xFFFFu) | h1 << 16), lo, sixteen);
    hi = _mm256_mask_add_epi8(hi, _cvtu32_mask32(h0 >> 16 | (h1 & 0xFFFF0000u)), hi, sixteen);
  }
};

// q4_1 / q5_1: q4_0's / q5_0's quants with no offset, and the minimum term (q_groups_vnni.hpp).
struct VnniQ4_1 : VnniQ4<V512> {
  using Group = GroupQ4_1;
  using Block = BlockQ4_1;
  static constexpr int32_t kOffset = 0;
  static constexpr bool kMin = true;
  static W load(const Group& g) { return load_qs(g.qs); }
};
struct VnniQ5_1 : VnniQ5_0 {
  using Group = GroupQ5_1;
  using Block = BlockQ5_1;
  static constexpr int32_t kOffset = 0;
  static constexpr bool kMin = true;
};

}  // namespace

void matmul_rows_q8_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { vnni_q8_0_rows<V512>(a, r0, r1); }

// On AMD, q4_0 decode of rows of 3 to kVnniTileFromGroups groups (768 to 10239 columns: every
// matrix of the Qwen2.5-0.5B, Llama-3.2-1B and Gemma 3 1B shapes) is the AVX2 file's, which reads
// them faster than one 512-bit row at a time. On a Zen 5 EPYC, 1 thread, bench_matmul n:1
// medians of 3: 2048x8192 0.223-0.229 against 0.244-0.248 ms, 896x4864 0.057-0.059 against
// 0.064-0.065, 151936x896 1.77-1.83 against 1.88-1.95; slim-bench tg128, two rounds: Llama-3.2-1B
// 51.8 / 51.9 -> 57.5 / 56.6 tokens/s, Qwen2.5-0.5B 134 / 137 -> 146 / 144, Gemma 3 1B 64.4 /
// 64.5 -> 70.4 / 70.3. Rows of 2 groups and a tail (576 columns, SmolLM2-135M) lost there
// (tg128 527-556 -> 435-455) and keep the 512-bit code, as do long rows (8-row tiles, 4096x14336
// 1.47 against 2.38 ms) and Intel. Software prefetch off or two vpdpbusd chains a group did not
// close the gap. Both give every output bit for bit the same (the same exact integer dots and the
// same f32 steps, q_groups_vnni.hpp), so n still does not change a result.
void matmul_rows_q4_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) {
  const int64_t groups = a.xq.blocks / kGroupBlocks;
  if (a.n == 1 && !cpu_features().intel && groups >= 3 && groups < kVnniTileFromGroups) {
    return avx2::matmul_rows_q4_0_groups8(a, r0, r1);
  }
  vnni_q4_0_rows<V512>(a, r0, r1);
}

void matmul_rows_q4_1_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { vnni_run<V512, VnniQ4_1>(a, r0, r1); }
void matmul_rows_q5_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { vnni_run<V512, VnniQ5_0>(a, r0, r1); }
void matmul_rows_q5_1_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { vnni_run<V512, VnniQ5_1>(a, r0, r1); }

}  // namespace slim::kernels::avx512_vnni
