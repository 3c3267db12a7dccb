// matmul(): picks the kernel set for this CPU once, takes each matrix's rows function from it
// (kernel_set.hpp), quantizes the activations the weight types ask for (weight_types.hpp), and
// splits output rows over threads.

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "kernels/cpu_features.hpp"
#include "kernels/kernel_set.hpp"
#include "kernels/weight_types.hpp"
#include "slim/error.hpp"

namespace slim::kernels {
namespace {

constexpr Isa kAllIsas[] = {Isa::scalar, Isa::xsimd, Isa::avx2, Isa::avx512_vnni, Isa::avx_vnni,
                            Isa::neon, Isa::neon_dotprod, Isa::neon_i8mm};

Isa choose() noexcept {
  if (const char* forced = std::getenv("SLIM_KERNELS")) {
    for (Isa isa : kAllIsas) {
      if (std::string_view(forced) == isa_name(isa) && isa_supported(isa)) return isa;
    }
  }
  for (Isa isa : {Isa::avx512_vnni, Isa::avx_vnni, Isa::avx2, Isa::neon_i8mm, Isa::neon_dotprod, Isa::neon, Isa::xsimd}) {
    if (isa_supported(isa)) return isa;
  }
  return Isa::scalar;
}

// Below this many multiply-adds a thread team costs more than it saves. Measured: at 2^16 rather
// than 2^18 SmolLM2-135M's 576x576 projection is split too, and its 2-thread q8_0 decode goes from
// 239 to 251 tokens/s.
constexpr int64_t kMinWorkPerThread = 1 << 16;

void run(Isa isa, std::span<const MatrixRef> ws, const float* x, int64_t n, std::span<float* const> ys, ThreadTeam& team) {
  const KernelSet& set = *kernel_set(isa);
  if (ws.size() != ys.size()) throw Error(ErrorCode::invalid_argument, "kernels: one output per matrix");
  if (ws.empty() || n <= 0) return;
  const int64_t cols = ws[0].cols;
  int64_t rows = 0;
  bool q8_32 = false, q8_k = false;
  for (const MatrixRef& w : ws) {
    if (!dtype_valid(w.dtype)) throw Error(ErrorCode::invalid_argument, "kernels: not a dtype");
    if (w.cols != cols) throw Error(ErrorCode::invalid_argument, "kernels: matmul_many needs equal column counts");
    if (w.cols % dtype_block_elems(w.dtype) != 0) {
      throw Error(ErrorCode::invalid_argument, "kernels: a " + std::string(dtype_name(w.dtype)) + " matrix needs a multiple of " +
                                                   std::to_string(dtype_block_elems(w.dtype)) + " columns");
    }
    if (w.layout == Layout::groups8 && weight_type(w.dtype).to_groups8 == nullptr) {
      throw Error(ErrorCode::invalid_argument, "kernels: a " + std::string(dtype_name(w.dtype)) + " matrix has no groups8 layout");
    }
    rows += std::max<int64_t>(w.rows, 0);
    q8_32 = q8_32 || weight_type(w.dtype).acts == ActFormat::q8_32;
    q8_k = q8_k || weight_type(w.dtype).acts == ActFormat::q8_k;
  }
  if (rows == 0) return;
  ActBuffer acts;
  if (q8_32) acts.quantize(x, n, cols, set.quantize_acts);
  ActBufferK acts_k;
  if (q8_k) acts_k.quantize(x, n, cols, set.quantize_acts_k);
  const auto args = [&](size_t i) { return MatmulArgs{ws[i], x, acts.view(), n, ys[i], acts_k.view()}; };
  const auto fn_for = [&](size_t i) { return rows_for(set, ws[i].dtype, ws[i].layout); };
  const int threads = static_cast<int>(std::clamp<int64_t>(rows * cols * n / kMinWorkPerThread, 1, team.size()));
  if (threads <= 1) {
    for (size_t i = 0; i < ws.size(); ++i) {
      if (ws[i].rows > 0) fn_for(i)(args(i), 0, ws[i].rows);
    }
    return;
  }
  if (n == 1) {
    // Decode: each weight is read once, straight from memory. Each thread takes one contiguous
    // range of the stacked rows (whole lines of 16 rows: no two threads write one cache line of
    // y), a single stream for the hardware prefetcher. Measured (2 threads, SmolLM2-135M shape,
    // tokens/s): chunks dealt out dynamically restart a stream at every chunk, q8_0 191 and q4_0
    // 240 against 246 and 323; ranges walked in chunks that an idle thread may steal from the
    // back, 192-232 and 291.
    team.run(threads, [&](int t, int nt) {
      const int64_t lines = (rows + 15) / 16;
      const int64_t begin = lines * t / nt * 16, end = std::min(rows, lines * (t + 1) / nt * 16);
      int64_t first = 0;  // stacked index of matrix i's row 0
      for (size_t i = 0; i < ws.size(); first += std::max<int64_t>(ws[i].rows, 0), ++i) {
        const int64_t r0 = std::max(begin, first) - first, r1 = std::min(end, first + ws[i].rows) - first;
        if (r0 < r1) fn_for(i)(args(i), r0, r1);
      }
    });
    return;
  }
  // Prefill: rows in chunks of a multiple of 16 (no two threads write the same cache line of y),
  // about 8 per thread, handed out dynamically: a thread that loses its core to another process
  // does not hold the others up at the barrier. Which thread computes a row does not change how it is
  // computed, so results do not depend on the team size.
  const int64_t per_chunk = std::max<int64_t>(16, (rows / (threads * 8) + 15) / 16 * 16);
  const auto chunks_of = [&](size_t i) { return (std::max<int64_t>(ws[i].rows, 0) + per_chunk - 1) / per_chunk; };
  int64_t chunks = 0;
  for (size_t i = 0; i < ws.size(); ++i) chunks += chunks_of(i);
  team.for_dynamic(threads, chunks, [&](int64_t c, int) {
    size_t i = 0;
    int64_t k = c;  // chunk index within matrix i
    for (; k >= chunks_of(i); ++i) k -= chunks_of(i);
    fn_for(i)(args(i), k * per_chunk, std::min(ws[i].rows, (k + 1) * per_chunk));
  });
}

}  // namespace

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::xsimd: return "xsimd";
    case Isa::avx2: return "avx2";
    case Isa::avx512_vnni: return "avx512_vnni";
    case Isa::avx_vnni: return "avx_vnni";
    case Isa::neon: return "neon";
    case Isa::neon_dotprod: return "neon_dotprod";
    case Isa::neon_i8mm: return "neon_i8mm";
  }
  return "?";
}

bool isa_built(Isa isa) noexcept { return kernel_set(isa) != nullptr; }

const char* isa_requirement(Isa isa) noexcept {
  switch (isa) {
    case Isa::scalar:
    case Isa::xsimd: return "any CPU";
    case Isa::avx2: return "x86-64 with AVX2, FMA and F16C";
    case Isa::avx512_vnni: return "x86-64 with AVX2, FMA, F16C and AVX-512 F, BW, VL and VNNI";
    case Isa::avx_vnni: return "x86-64 with AVX2, FMA, F16C and AVX-VNNI";
    case Isa::neon: return "64-bit Arm";
    case Isa::neon_dotprod: return "64-bit Arm with the dot product extension";
    case Isa::neon_i8mm: return "64-bit Arm with the dot product and int8 matrix multiply extensions";
  }
  return "?";
}

bool isa_supported(Isa isa) noexcept {
  if (!isa_built(isa)) return false;
  const CpuFeatures& cpu = cpu_features();
  switch (isa) {
    case Isa::avx2: return cpu.avx2_fma_f16c;
    case Isa::avx512_vnni: return cpu.avx512_vnni;
    case Isa::avx_vnni: return cpu.avx_vnni;
    case Isa::neon: return cpu.neon;
    case Isa::neon_dotprod: return cpu.neon_dotprod;
    case Isa::neon_i8mm: return cpu.neon_i8mm;
    default: return true;
  }
}

Isa active_isa_id() noexcept {
  static const Isa isa = choose();
  return isa;
}

const char* active_isa() noexcept { return isa_name(active_isa_id()); }

void matmul(const MatrixRef& w, const float* x, int64_t n, float* y, ThreadTeam& team) {
  matmul_many({&w, 1}, x, n, {&y, 1}, team);
}

void matmul_many(std::span<const MatrixRef> ws, const float* x, int64_t n, std::span<float* const> ys, ThreadTeam& team) {
  run(active_isa_id(), ws, x, n, ys, team);
}

void matmul_with(Isa isa, const MatrixRef& w, const float* x, int64_t n, float* y, ThreadTeam& team) {
  if (!isa_supported(isa)) {
    throw Error(ErrorCode::unsupported,
                std::string("kernels: kernel set '") + isa_name(isa) + "' is not available on this CPU");
  }
  run(isa, {&w, 1}, x, n, {&y, 1}, team);
}

}  // namespace slim::kernels
