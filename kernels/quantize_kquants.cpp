// Conversions of rows between f32 and the K-quant super-blocks (kquant_blocks.hpp), and the Q8_K
// activation quantizer. The quantizers follow ggml's reference ones (ggml/src/ggml-quants.c:
// quantize_row_q4_K_ref / _q5_K_ref / _q6_K_ref with make_qkx2_quants and make_qx_quants, which
// llama-quantize uses when it has no importance matrix), operation for operation, so the blocks
// match llama.cpp's.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/convert.hpp"
#include "kernels/kquant_blocks.hpp"
#include "kernels/weight_types.hpp"
#include "slim/error.hpp"

namespace slim::kernels {
namespace {

// ggml's nearest_int: round half to even by adding 1.5 * 2^23, for |v| <= 2^22 (the callers' values
// are bounded by the range checks and clamps around them).
inline int nearest_int(float v) {
  return (std::bit_cast<int32_t>(v + 12582912.0f) & 0x007FFFFF) - 0x00400000;
}

// The fp16 super-block scales end at 65504: `limit` bounds the values whose scales still fit.
void check_range(const char* type, const float* x, int64_t count, float limit) {
  for (int64_t i = 0; i < count; ++i) {
    if (!(std::fabs(x[i]) <= limit)) {
      throw Error(ErrorCode::invalid_argument, "kernels: cannot quantize " + std::to_string(x[i]) + " to " + type +
                                                   " (non-finite or beyond the fp16 super-block scale)");
    }
  }
}

// ggml's make_qkx2_quants: n values as scale * L + min (L in 0..nmax, min <= 0), weighted
// least squares over nstep + 1 trial scales; returns the scale and -min in *neg_min.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min, float rmin, float rdelta,
                    int nstep) {
  float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, uint8_t{0});
    *neg_min = -min;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
    L[i] = static_cast<uint8_t>(l);
    const float diff = scale * static_cast<float>(l) + min - x[i];
    best_error += w[i] * (diff * diff);
  }
  uint8_t trial[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      const float wl = w[i] * static_cast<float>(l);
      sum_l += wl;
      sum_l2 += wl * static_cast<float>(l);
      sum_xl += wl * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * static_cast<float>(trial[i]) + this_min - x[i];
        error += w[i] * (diff * diff);
      }
      if (error < best_error) {
        std::copy(trial, trial + n, L);
        best_error = error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

// q4_k / q5_k (nmax 15 / 31): the eight sub-block scales and mins of a super-block, quantized to
// 6 bits against d and dmin (ggml's quantize_row_q4_K_ref / _q5_K_ref), then each weight's q.
template <int kMax>
void quantize_scale_min_block(const float* x, uint16_t& d_out, uint16_t& dmin_out, uint8_t* packed, uint8_t* L) {
  constexpr float kRmin = kMax == 15 ? -1.0f : -0.5f;
  constexpr int kSteps = kMax == 15 ? 20 : 15;
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xj = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xj[l] * xj[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xj[l]);
    scales[j] = fit_scale_min(32, kMax, xj, weights, L + 32 * j, &mins[j], kRmin, 0.1f, kSteps);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
  }
  pack_scale_mins(ls, lm, packed);
  d_out = f32_to_f16(max_scale / 63.0f);
  dmin_out = f32_to_f16(max_min / 63.0f);
  uint8_t sc[8], m[8];
  unpack_scale_mins(packed, sc, m);
  for (int j = 0; j < 8; ++j) {
    const float d = f16_to_f32(d_out) * static_cast<float>(sc[j]);
    if (d == 0.0f) continue;  // L keeps the fit's values, as in ggml
    const float dm = f16_to_f32(dmin_out) * static_cast<float>(m[j]);
    for (int i = 0; i < 32; ++i) L[32 * j + i] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + i] + dm) / d), 0, kMax));
  }
}

void quantize_q4_k(const float* x, int64_t cols, BlockQ4_K* out) {
  check_range("q4_k", x, cols, 65504.0f * 63 * 2);
  for (int64_t b = 0; b < cols / kSuperBlock; ++b, x += kSuperBlock) {
    uint8_t L[kSuperBlock];
    quantize_scale_min_block<15>(x, out[b].d, out[b].dmin, out[b].scales, L);
    for (int c = 0; c < 4; ++c) {
      for (int i = 0; i < 32; ++i) out[b].qs[32 * c + i] = static_cast<uint8_t>(L[64 * c + i] | (L[64 * c + 32 + i] << 4));
    }
  }
}

void quantize_q5_k(const float* x, int64_t cols, BlockQ5_K* out) {
  check_range("q5_k", x, cols, 65504.0f * 63 * 2);
  for (int64_t b = 0; b < cols / kSuperBlock; ++b, x += kSuperBlock) {
    uint8_t L[kSuperBlock];
    quantize_scale_min_block<31>(x, out[b].d, out[b].dmin, out[b].scales, L);
    std::memset(out[b].qh, 0, sizeof out[b].qh);
    for (int c = 0; c < 4; ++c) {
      for (int i = 0; i < 32; ++i) {
        const int lo = L[64 * c + i], hi = L[64 * c + 32 + i];
        out[b].qh[i] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
        out[b].qs[32 * c + i] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
      }
    }
  }
}

// ggml's make_qx_quants with rmse_type 1 and no importance weights: n values as scale * (L - nmax),
// L - nmax in -nmax..nmax-1, the scale refined over 18 trial scales by weighted (x^2) least squares.
float fit_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < 1e-15f) {  // ggml's GROUP_MAX_EPS: all zero
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  const auto level = [&](float iscale, int i) { return std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1); };
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = level(iscale, i);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = level(iscale, i);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + level(iscale, i));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

void quantize_q6_k(const float* x, int64_t cols, BlockQ6_K* out) {
  check_range("q6_k", x, cols, 65504.0f * 128 * 16);
  for (int64_t b = 0; b < cols / kSuperBlock; ++b, x += kSuperBlock) {
    BlockQ6_K& y = out[b];
    int8_t L[kSuperBlock];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int k = 0; k < 16; ++k) {
      scales[k] = fit_symmetric(16, 32, x + 16 * k, L + 16 * k);
      if (std::fabs(scales[k]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[k]);
        max_scale = scales[k];
      }
    }
    std::memset(&y, 0, sizeof y);
    if (max_abs_scale < 1e-15f) continue;  // d = 0 (+0 in fp16) and all zero bytes
    const float iscale = -128.0f / max_scale;
    y.d = f32_to_f16(1 / iscale);
    for (int k = 0; k < 16; ++k) y.scales[k] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[k])));
    for (int k = 0; k < 16; ++k) {
      const float d = f16_to_f32(y.d) * static_cast<float>(y.scales[k]);
      if (d == 0.0f) continue;
      for (int i = 0; i < 16; ++i) L[16 * k + i] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * k + i] / d), -32, 31) + 32);
    }
    for (int e = 0; e < kSuperBlock; ++e) {
      const Q6Place p = q6_place(e);
      const int q = L[e];
      y.ql[p.ql] |= static_cast<uint8_t>((q & 15) << p.ql_shift);
      y.qh[p.qh] |= static_cast<uint8_t>((q >> 4) << p.qh_shift);
    }
  }
}

// q4_k / q5_k: weight = (d sc_j) q - dmin m_j, as ggml's dequantize_row_q4_K / _q5_K.
template <typename Block>
void dequantize_scale_min(const Block* blocks, int64_t cols, float* out) noexcept {
  for (int64_t b = 0; b < cols / kSuperBlock; ++b) {
    const float d = f16_to_f32(blocks[b].d), dmin = f16_to_f32(blocks[b].dmin);
    uint8_t sc[8], m[8];
    unpack_scale_mins(blocks[b].scales, sc, m);
    for (int j = 0; j < 8; ++j) {
      const float dj = d * static_cast<float>(sc[j]), mj = dmin * static_cast<float>(m[j]);
      for (int i = 0; i < 32; ++i) out[b * kSuperBlock + 32 * j + i] = dj * static_cast<float>(kquant_q(blocks[b], j, i)) - mj;
    }
  }
}

}  // namespace

void quantize_row_q4_k(const float* src, int64_t cols, void* out) { quantize_q4_k(src, cols, static_cast<BlockQ4_K*>(out)); }
void quantize_row_q5_k(const float* src, int64_t cols, void* out) { quantize_q5_k(src, cols, static_cast<BlockQ5_K*>(out)); }
void quantize_row_q6_k(const float* src, int64_t cols, void* out) { quantize_q6_k(src, cols, static_cast<BlockQ6_K*>(out)); }

void dequantize_row_q4_k(const void* src, int64_t cols, float* out) noexcept {
  dequantize_scale_min(static_cast<const BlockQ4_K*>(src), cols, out);
}
void dequantize_row_q5_k(const void* src, int64_t cols, float* out) noexcept {
  dequantize_scale_min(static_cast<const BlockQ5_K*>(src), cols, out);
}

void dequantize_row_q6_k(const void* src, int64_t cols, float* out) noexcept {
  const auto* blocks = static_cast<const BlockQ6_K*>(src);
  for (int64_t b = 0; b < cols / kSuperBlock; ++b) {
    const float d = f16_to_f32(blocks[b].d);
    for (int e = 0; e < kSuperBlock; ++e) {
      out[b * kSuperBlock + e] = d * static_cast<float>(blocks[b].scales[e / 16]) * static_cast<float>(q6_value(blocks[b], e));
    }
  }
}

void quantize_act_row_q8_k(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsums) noexcept {
  for (int64_t b = 0; b < cols / kSuperBlock; ++b, x += kSuperBlock, q += kSuperBlock, bsums += 16) {
    float amax = 0.0f;  // a NaN never wins the comparison
    for (int i = 0; i < kSuperBlock; ++i) amax = std::fabs(x[i]) > amax ? std::fabs(x[i]) : amax;
    const float iscale = 127.0f / amax;
    const bool usable = amax > 0.0f && iscale > 0.0f && iscale <= 3.4e38f;
    d[b] = usable ? 1 / iscale : 0.0f;
    for (int i = 0; i < kSuperBlock; ++i) {
      // The clamp keeps NaN / infinity garbage in range; finite values are within +-127 already.
      q[i] = usable ? static_cast<int8_t>(std::clamp(nearest_int(iscale * x[i]), -127, 127)) : int8_t{0};
    }
    for (int k = 0; k < 16; ++k) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += q[16 * k + i];
      bsums[k] = static_cast<int16_t>(sum);
    }
  }
}

void ActBufferK::quantize(const float* x, int64_t n, int64_t cols, ActRowQuantizerK row) {
  const int64_t blocks = cols / kSuperBlock;
  const auto [q, d, bsums] = act_arrays<int16_t>(memory_, n, cols, blocks, 16);
  for (int64_t t = 0; t < n; ++t) row(x + t * cols, cols, q + t * cols, d + t * blocks, bsums + t * blocks * 16);
  acts_ = {n, cols, blocks, q, d, bsums};
}

}  // namespace slim::kernels
