// The row operations: attention's dot_rows(), add_weighted_rows() (over f32 or f16 rows), softmax() and softcap(), the MLP's
// silu_mul() and gelu_tanh_mul(): the portable loops (the compiler vectorises them for the baseline
// ISA), and the calls through the kernel set in use (kernel_set.hpp; avx2 and the VNNI sets built
// on it have their own versions).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/convert.hpp"
#include "kernels/kernel_set.hpp"
#include "slim/error.hpp"

namespace slim::kernels {
namespace portable {
namespace {

// One output, the rows one after the other: out is the same whether the rows come in one call or
// in several (attention adds a batch's own values one row at a time where a local layer's ring
// cannot hold them yet, and the cached ones in runs).
void add_weighted_rows_one(const float* w, const float* rows, int64_t count, int64_t cols, float* out) {
  for (int64_t t = 0; t < count; ++t) {
    const float* r = rows + t * cols;
    for (int64_t d = 0; d < cols; ++d) out[d] += w[t] * r[d];
  }
}

// The f16 functions convert runs of rows into f32 on the stack (16 KiB) and run the f32 code on
// them: converting inside the loops let the compiler contract and vectorise differently (as it
// does for AArch64, where a * b + c becomes an FMA), and the results must be the f32 ones.
constexpr int64_t kConvertedValues = 4096;

// Rows a run may hold, at least one; buffer holds them (the stack's, or for rows longer than it,
// a heap one).
int64_t converted_rows(int64_t cols, float* stack, std::vector<float>& heap, float*& buffer) {
  const int64_t rows = std::max<int64_t>(1, kConvertedValues / std::max<int64_t>(cols, 1));
  buffer = stack;
  if (rows * cols > kConvertedValues) {
    heap.resize(static_cast<size_t>(rows * cols));
    buffer = heap.data();
  }
  return rows;
}

// PyTorch's constants (GeluType::Tanh) in f32: sqrt(2/pi) and 0.044715.
constexpr float kGeluBeta = 0.7978845608028654f, kGeluKappa = 0.044715f;

}  // namespace

// Each score in eight partial sums (columns d, d + 8, ... go to sum d % 8), which the compiler keeps
// in vector registers, added up pairwise at the end.
void dot_rows(const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count, int64_t cols,
              float* out, int64_t out_stride) {
  const int64_t full = cols - cols % 8;
  for (int64_t t = 0; t < count; ++t) {
    const float* r = rows + t * row_stride;
    for (int64_t g = 0; g < queries; ++g) {
      const float* qg = q + g * cols;
      float part[8] = {};
      for (int64_t d = 0; d < full; d += 8) {
        for (int k = 0; k < 8; ++k) part[k] += qg[d + k] * r[d + k];
      }
      float s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
      for (int64_t d = full; d < cols; ++d) s += qg[d] * r[d];
      out[g * out_stride + t] = s;
    }
  }
}

// Each score depends on its own row only, so runs of any length give the f32 results.
void dot_rows_f16(const float* q, int64_t queries, const uint16_t* rows, int64_t row_stride, int64_t count,
                  int64_t cols, float* out, int64_t out_stride) {
  float stack[kConvertedValues];
  std::vector<float> heap;
  float* buffer = nullptr;
  const int64_t run = converted_rows(cols, stack, heap, buffer);
  for (int64_t t0 = 0; t0 < count; t0 += run) {
    const int64_t n = std::min(run, count - t0);
    for (int64_t t = 0; t < n; ++t) from_f16(rows + (t0 + t) * row_stride, cols, buffer + t * cols);
    dot_rows(q, queries, buffer, cols, n, cols, out + t0, out_stride);
  }
}

void add_weighted_rows(const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count,
                       int64_t cols, float* out) {
  for (int64_t g = 0; g < outputs; ++g) add_weighted_rows_one(w + g * w_stride, rows, count, cols, out + g * cols);
}

// Runs of any length add into out exactly as one call over all of them does (add_weighted_rows_one).
void add_weighted_rows_f16(const float* w, int64_t w_stride, int64_t outputs, const uint16_t* rows, int64_t count,
                           int64_t cols, float* out) {
  float stack[kConvertedValues];
  std::vector<float> heap;
  float* buffer = nullptr;
  const int64_t run = converted_rows(cols, stack, heap, buffer);
  for (int64_t t0 = 0; t0 < count; t0 += run) {
    const int64_t n = std::min(run, count - t0);
    from_f16(rows + t0 * cols, n * cols, buffer);
    add_weighted_rows(w + t0, w_stride, outputs, buffer, n, cols, out);
  }
}

void softmax(float* x, int64_t n) {
  const float max = *std::max_element(x, x + n);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void gelu_tanh_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    const float inner = kGeluBeta * (x + kGeluKappa * (x * x * x));
    gate[i] = 0.5f * x * (1.0f + std::tanh(inner)) * up[i];
  }
}

void softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] / cap) * cap;
}

void to_f16_saturated(const float* x, int64_t n, uint16_t* out) {
  constexpr float kMax = 65504.0f;
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(std::clamp(x[i], -kMax, kMax));  // NaN passes clamp
}

void from_f16(const uint16_t* h, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(h[i]);
}

}  // namespace portable

namespace {

const RowOps& active() noexcept {
  static const RowOps ops = kernel_set(active_isa_id())->ops;
  return ops;
}

RowOps checked(Isa isa) {
  if (!isa_supported(isa)) {
    throw Error(ErrorCode::unsupported,
                std::string("kernels: kernel set '") + isa_name(isa) + "' is not available on this CPU");
  }
  return kernel_set(isa)->ops;
}

}  // namespace

void dot_rows(const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count, int64_t cols,
              float* out, int64_t out_stride) {
  active().dot_rows(q, queries, rows, row_stride, count, cols, out, out_stride);
}

void dot_rows_with(Isa isa, const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count,
                   int64_t cols, float* out, int64_t out_stride) {
  checked(isa).dot_rows(q, queries, rows, row_stride, count, cols, out, out_stride);
}

void dot_rows_f16(const float* q, int64_t queries, const uint16_t* rows, int64_t row_stride, int64_t count,
                  int64_t cols, float* out, int64_t out_stride) {
  active().dot_rows_f16(q, queries, rows, row_stride, count, cols, out, out_stride);
}

void dot_rows_f16_with(Isa isa, const float* q, int64_t queries, const uint16_t* rows, int64_t row_stride,
                       int64_t count, int64_t cols, float* out, int64_t out_stride) {
  checked(isa).dot_rows_f16(q, queries, rows, row_stride, count, cols, out, out_stride);
}

void add_weighted_rows_f16(const float* w, int64_t w_stride, int64_t outputs, const uint16_t* rows, int64_t count,
                           int64_t cols, float* out) {
  active().add_weighted_rows_f16(w, w_stride, outputs, rows, count, cols, out);
}

void add_weighted_rows_f16_with(Isa isa, const float* w, int64_t w_stride, int64_t outputs, const uint16_t* rows,
                                int64_t count, int64_t cols, float* out) {
  checked(isa).add_weighted_rows_f16(w, w_stride, outputs, rows, count, cols, out);
}

void add_weighted_rows(const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count, int64_t cols,
                       float* out) {
  active().add_weighted_rows(w, w_stride, outputs, rows, count, cols, out);
}

void add_weighted_rows_with(Isa isa, const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count,
                            int64_t cols, float* out) {
  checked(isa).add_weighted_rows(w, w_stride, outputs, rows, count, cols, out);
}

void softmax(float* x, int64_t n) {
  if (n > 0) active().softmax(x, n);
}

void softmax_with(Isa isa, float* x, int64_t n) {
  const RowOps ops = checked(isa);
  if (n > 0) ops.softmax(x, n);
}

void silu_mul(float* gate, const float* up, int64_t n) {
  if (n > 0) active().silu_mul(gate, up, n);
}

void silu_mul_with(Isa isa, float* gate, const float* up, int64_t n) {
  const RowOps ops = checked(isa);
  if (n > 0) ops.silu_mul(gate, up, n);
}

void gelu_tanh_mul(float* gate, const float* up, int64_t n) {
  if (n > 0) active().gelu_tanh_mul(gate, up, n);
}

void gelu_tanh_mul_with(Isa isa, float* gate, const float* up, int64_t n) {
  const RowOps ops = checked(isa);
  if (n > 0) ops.gelu_tanh_mul(gate, up, n);
}

void softcap(float* x, int64_t n, float cap) {
  if (n > 0) active().softcap(x, n, cap);
}

void softcap_with(Isa isa, float* x, int64_t n, float cap) {
  const RowOps ops = checked(isa);
  if (n > 0) ops.softcap(x, n, cap);
}

void to_f16_saturated(const float* x, int64_t n, uint16_t* out) {
  if (n > 0) active().to_f16_saturated(x, n, out);
}

void to_f16_saturated_with(Isa isa, const float* x, int64_t n, uint16_t* out) {
  const RowOps ops = checked(isa);
  if (n > 0) ops.to_f16_saturated(x, n, out);
}

void from_f16(const uint16_t* h, int64_t n, float* out) {
  if (n > 0) active().from_f16(h, n, out);
}

void from_f16_with(Isa isa, const uint16_t* h, int64_t n, float* out) {
  const RowOps ops = checked(isa);
  if (n > 0) ops.from_f16(h, n, out);
}

}  // namespace slim::kernels
