// Every kernel set the CPU supports against the scalar reference: random and adversarial data,
// exactness of the integer parts, independence of n and of the thread count.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <numbers>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "kernels/convert.hpp"
#include "kernels/kernels.hpp"
#include "kernels/kernel_set.hpp"
#include "kernels/kquant_blocks.hpp"
#include "kernels/quant_blocks.hpp"
#include "kernels/weight_types.hpp"

using namespace slim;
using namespace slim::kernels;

namespace {

constexpr Isa kIsas[] = {Isa::xsimd, Isa::avx2, Isa::avx512_vnni, Isa::avx_vnni,
                         Isa::neon, Isa::neon_dotprod, Isa::neon_i8mm};
// Every weight type in the table: a new type is tested by being added to it.
constexpr auto kDTypes = all_dtypes();

// Whether a matrix of `cols` columns can be stored as dtype (block types need whole blocks).
bool fits(DType dtype, int64_t cols) { return cols % dtype_block_elems(dtype) == 0; }

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : kIsas)
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

// The supported sets and the scalar reference: for the row operations, checked against doubles.
std::vector<Isa> supported_isas_and_scalar() {
  std::vector<Isa> out = supported_isas();
  out.push_back(Isa::scalar);
  return out;
}

struct Weights {
  DType dtype;
  int64_t rows, cols;
  std::vector<unsigned char> bytes;
  Layout layout = Layout::blocks;
  MatrixRef ref() const { return {dtype, bytes.data(), rows, cols, layout}; }
};

// The same matrix in another layout.
Weights relaid(const Weights& w, Layout layout) {
  Weights out = w;
  out.layout = layout;
  const size_t row_bytes = dtype_row_bytes(w.dtype, w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    const size_t at = static_cast<size_t>(r) * row_bytes;
    relayout_row(w.dtype, w.cols, w.bytes.data() + at, w.layout, out.bytes.data() + at, layout);
  }
  return out;
}

// w, and for block dtypes w in the groups8 layout too.
std::vector<Weights> every_layout(const Weights& w) {
  std::vector<Weights> out{w};
  if (weight_type(w.dtype).to_groups8 != nullptr) out.push_back(relaid(w, Layout::groups8));
  return out;
}

Weights make_weights(DType dtype, const std::vector<float>& values, int64_t rows, int64_t cols) {
  Weights w{dtype, rows, cols, std::vector<unsigned char>(dtype_row_bytes(dtype, cols) * static_cast<size_t>(rows))};
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(dtype, values.data() + r * cols, cols, w.bytes.data() + static_cast<size_t>(r) * dtype_row_bytes(dtype, cols));
  }
  return w;
}

// Random values whose magnitude changes from block to block by up to 10^±spread.
std::vector<float> random_values(size_t count, std::mt19937& rng, float spread = 0.0f) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> exponent(-spread, spread);
  std::vector<float> v(count);
  float scale = 1.0f;
  for (size_t i = 0; i < count; ++i) {
    if (i % 32 == 0) scale = std::pow(10.0f, exponent(rng));
    v[i] = normal(rng) * scale;
  }
  return v;
}

std::vector<float> run(Isa isa, const Weights& w, const std::vector<float>& x, int64_t n, int threads = 1) {
  std::vector<float> y(static_cast<size_t>(n * w.rows), -1.0f);
  ThreadTeam team(threads);
  matmul_with(isa, w.ref(), x.data(), n, y.data(), team);
  return y;
}

// Σ|w||x| for each output, from the dequantized weights: the scale of the rounding error.
std::vector<double> magnitudes(const Weights& w, const std::vector<float>& x, int64_t n) {
  std::vector<double> m(static_cast<size_t>(n * w.rows));
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    row_to_f32(w.ref(), r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      double s = 0;
      for (int64_t c = 0; c < w.cols; ++c) s += std::fabs(double{row[c]} * x[t * w.cols + c]);
      m[t * w.rows + r] = s;
    }
  }
  return m;
}

const char* layout_name(Layout layout) { return layout == Layout::blocks ? "blocks" : "groups8"; }

// isa on w, in each of its layouts, against the scalar reference on w's GGUF blocks.
void check_close(Isa isa, const Weights& blocks, const std::vector<float>& x, int64_t n) {
  const std::vector<float> ref = run(Isa::scalar, blocks, x, n);
  const std::vector<double> mag = magnitudes(blocks, x, n);
  for (const Weights& w : every_layout(blocks)) {
    INFO("isa " << isa_name(isa) << " dtype " << dtype_name(w.dtype) << " " << layout_name(w.layout) << " rows " << w.rows
                << " cols " << w.cols << " n " << n);
    const std::vector<float> got = run(isa, w, x, n);
    for (size_t i = 0; i < ref.size(); ++i) {
      INFO("output " << i << " ref " << ref[i] << " got " << got[i] << " magnitude " << mag[i]);
      REQUIRE(std::isfinite(got[i]));
      // Both sum rounded f32 terms in different orders. Rounding errors of a sum grow like a
      // random walk, about sqrt(cols) * 2^-24 of Σ|terms| (cols * 2^-24 at worst): 2e-5 up to 800
      // columns, scaled by sqrt(cols / 800) beyond.
      const double tolerance = 2e-5 * std::max(1.0, std::sqrt(static_cast<double>(w.cols) / 800.0));
      REQUIRE(std::fabs(double{got[i]} - ref[i]) <= tolerance * mag[i] + 1e-30);
    }
  }
}

}  // namespace

// Which sets the tests below run on this machine, and why the others do not: a set the CPU lacks
// is skipped visibly, never silently.
TEST_CASE("kernel sets run and skipped here") {
  for (Isa isa : kIsas) {
    std::cout << "kernel set " << isa_name(isa) << ": ";
    if (isa_supported(isa)) {
      std::cout << "runs" << (isa == active_isa_id() ? " (active)" : "") << "\n";
    } else if (isa_built(isa)) {
      std::cout << "SKIPPED: this CPU lacks it (needs " << isa_requirement(isa) << ")\n";
    } else {
      std::cout << "skipped: not built for this architecture (needs " << isa_requirement(isa) << ")\n";
    }
    if (!isa_built(isa)) CHECK_FALSE(isa_supported(isa));
  }
  std::cout << std::flush;
}

TEST_CASE("the scalar reference is always available and the active set is supported") {
  CHECK(isa_supported(Isa::scalar));
  CHECK(isa_supported(Isa::xsimd));
  CHECK(isa_supported(active_isa_id()));
  CHECK(std::string(active_isa()) == isa_name(active_isa_id()));
#if defined(__x86_64__)
  CHECK_FALSE(isa_supported(Isa::neon));
#endif
}

TEST_CASE("the scalar set computes every weight type, in either layout") {
  const KernelSet* scalar = kernel_set(Isa::scalar);
  REQUIRE(scalar != nullptr);
  for (DType dtype : all_dtypes()) {
    INFO(dtype_name(dtype));
    CHECK(scalar->rows[static_cast<size_t>(dtype)][static_cast<size_t>(Layout::blocks)] != nullptr);
    CHECK(rows_for(*scalar, dtype, Layout::groups8) != nullptr);
  }
  CHECK(scalar->quantize_acts != nullptr);
}

// scripts/arm-test.sh forces each kernel set with SLIM_KERNELS and names in SLIM_EXPECT_UNSUPPORTED
// (comma-separated) the sets the emulated CPU must lack, which checks the runtime feature detection both ways.
TEST_CASE("SLIM_KERNELS selects the kernel set; the CPU check refuses what the CPU lacks") {
  if (const char* forced = std::getenv("SLIM_KERNELS")) {
    INFO("SLIM_KERNELS=" << forced);
    CHECK(std::string(active_isa()) == forced);
  }
  if (const char* lacking = std::getenv("SLIM_EXPECT_UNSUPPORTED")) {
    std::stringstream list(lacking);
    for (std::string name; std::getline(list, name, ',');) {
      for (Isa isa : kIsas) {
        if (name == isa_name(isa)) {
          INFO(name);
          CHECK_FALSE(isa_supported(isa));
        }
      }
    }
  }
}

TEST_CASE("every kernel set matches the reference on random data") {
  std::mt19937 rng(42);
  // 8224 columns: 257 blocks, beyond the length where the AVX2 decode switches to 4-row tiles.
  // For the groups8 layout: no whole group (32-160 columns), groups and an odd or even number of
  // blocks after them (288, 576, 800, 8224), groups only (256), and rows long enough (40 groups)
  // for the decode tiles of 8 rows, with rows left over (10272 columns, 11 rows).
  // The K-quants (super-blocks of 256) meet 256, 1280 and 4608 columns.
  const int64_t shapes[][2] = {{1, 32},   {5, 96},  {7, 160},  {3, 256},   {37, 288},  {11, 576},
                               {70, 800}, {9, 8224}, {11, 10272}, {13, 1280}, {5, 4608}};
  for (Isa isa : supported_isas()) {
    for (DType dtype : kDTypes) {
      for (const auto& shape : shapes) {
        const int64_t rows = shape[0], cols = shape[1];
        if (!fits(dtype, cols)) continue;
        const Weights w = make_weights(dtype, random_values(static_cast<size_t>(rows * cols), rng, 1.0f), rows, cols);
        for (int64_t n : {1, 3, 4, 17}) check_close(isa, w, random_values(static_cast<size_t>(n * cols), rng, 1.0f), n);
      }
    }
  }
}

TEST_CASE("float kernels handle columns that are not a multiple of the vector width") {
  std::mt19937 rng(7);
  for (Isa isa : supported_isas()) {
    for (DType dtype : {DType::f32, DType::bf16, DType::f16}) {
      for (int64_t cols : {1, 7, 37, 100}) {
        const Weights w = make_weights(dtype, random_values(static_cast<size_t>(9 * cols), rng), 9, cols);
        for (int64_t n : {1, 5}) check_close(isa, w, random_values(static_cast<size_t>(n * cols), rng), n);
      }
    }
  }
}

TEST_CASE("adversarial data: zeros and extreme scales") {
  std::mt19937 rng(3);
  const int64_t rows = 6;
  for (Isa isa : supported_isas()) {
    for (DType dtype : kDTypes) {
      SECTION(std::string(isa_name(isa)) + " " + std::string(dtype_name(dtype))) {
        const int64_t cols = fits(dtype, 224) ? 224 : 2 * dtype_block_elems(dtype);
        const std::vector<float> zeros(static_cast<size_t>(4 * cols), 0.0f);
        const Weights w0 = make_weights(dtype, std::vector<float>(static_cast<size_t>(rows * cols), 0.0f), rows, cols);
        const Weights w1 = make_weights(dtype, random_values(static_cast<size_t>(rows * cols), rng), rows, cols);
        for (float v : run(isa, w0, random_values(static_cast<size_t>(4 * cols), rng), 4)) REQUIRE(v == 0.0f);
        for (float v : run(isa, w1, zeros, 4)) REQUIRE(v == 0.0f);
        // Blocks from 1e-6 to 1e6 in one row (1e-3 to 1e3 for f16 and 1e-4 to 1e4 for the block
        // types, whose fp16 scales end at 65504); huge and tiny activations.
        const Weights wide = make_weights(dtype, random_values(static_cast<size_t>(rows * cols), rng, dtype == DType::f16 ? 3.0f : dtype_is_quantized(dtype) ? 4.0f : 6.0f), rows, cols);
        check_close(isa, wide, random_values(static_cast<size_t>(3 * cols), rng, 6.0f), 3);
        std::vector<float> big = random_values(static_cast<size_t>(2 * cols), rng);
        for (float& v : big) v *= 1e25f;
        check_close(isa, w1, big, 2);
        std::vector<float> tiny = random_values(static_cast<size_t>(2 * cols), rng);
        for (float& v : tiny) v *= 1e-25f;
        check_close(isa, w1, tiny, 2);
        // Saturating values: every weight and activation at the end of its range.
        std::vector<float> extreme(static_cast<size_t>(rows * cols));
        for (size_t i = 0; i < extreme.size(); ++i) extreme[i] = (i % 3 == 0) ? -1.0f : 1.0f;
        std::vector<float> xe(static_cast<size_t>(5 * cols));
        for (size_t i = 0; i < xe.size(); ++i) xe[i] = (i % 5 == 0) ? 1.0f : -1.0f;
        check_close(isa, make_weights(dtype, extreme, rows, cols), xe, 5);
      }
    }
  }
}

// Power-of-two scales and integer values make every float operation exact, so any error in the
// integer dot products, the nibble order or the activation quantization shows as a difference.
TEST_CASE("integer parts are bit-exact against the reference") {
  std::mt19937 rng(11);
  for (DType dtype : {DType::q8_0, DType::q4_0, DType::q4_1, DType::q5_0, DType::q5_1}) {
    for (int64_t cols : {32, 288, 512, 800, 2016}) {
      const int64_t rows = 13, blocks = cols / 32;
      Weights w{dtype, rows, cols, std::vector<unsigned char>(dtype_row_bytes(dtype, cols) * rows)};
      std::uniform_int_distribution<int> byte(0, 255), q8(-16, 16), two(0, 1);
      for (int64_t i = 0; i < rows * blocks; ++i) {
        const uint16_t d = f32_to_f16(two(rng) ? 1.0f : 2.0f);
        if (dtype == DType::q8_0) {
          auto& b = reinterpret_cast<BlockQ8_0*>(w.bytes.data())[i];
          b.d = d;
          for (auto& q : b.q) q = static_cast<int8_t>(q8(rng));
          if (i % 7 == 0) b.q[3] = -128;  // legal in a file, outside what the quantizer writes
        } else if (dtype == DType::q4_0) {
          auto& b = reinterpret_cast<BlockQ4_0*>(w.bytes.data())[i];
          b.d = d;
          for (auto& q : b.qs) q = static_cast<uint8_t>(i % 5 == 0 ? 0xFF : byte(rng));  // some at the top of the range
        } else {
          // Nibbles and fifth bits at random (some blocks all ones: the top of the range), d as
          // above, the minimum -8 or -16 times 1 or 2 for q4_1 / q5_1: values centred like q4_0 /
          // q5_0's, so every partial sum stays an integer below 2^24.
          unsigned char* b = w.bytes.data() + static_cast<size_t>(i) * dtype_block_bytes(dtype);
          for (size_t k = 2; k < dtype_block_bytes(dtype); ++k) b[k] = static_cast<unsigned char>(i % 5 == 0 ? 0xFF : byte(rng));
          std::memcpy(b, &d, 2);
          if (dtype != DType::q5_0) {
            const uint16_t m = f32_to_f16((dtype == DType::q4_1 ? -8.0f : -16.0f) * (two(rng) ? 1.0f : 2.0f));
            std::memcpy(b + 2, &m, 2);
          }
        }
      }
      for (int64_t n : {1, 3, 4, 17}) {
        std::vector<float> x(static_cast<size_t>(n * cols));
        std::uniform_int_distribution<int> q(-127, 127);
        for (size_t i = 0; i < x.size(); ++i) {
          const float scale = (i / 32) % 2 ? 1.0f : 2.0f;
          // max|x| = 127 * scale; the first row all 127: the largest sums the kernels can meet
          x[i] = static_cast<float>(i % 32 == 5 || i < static_cast<size_t>(cols) ? 127 : q(rng)) * scale;
        }
        const std::vector<float> ref = run(Isa::scalar, w, x, n);
        for (Isa isa : supported_isas()) {
          for (const Weights& laid : every_layout(w)) {
            INFO("isa " << isa_name(isa) << " dtype " << dtype_name(dtype) << " " << layout_name(laid.layout) << " cols " << cols << " n " << n);
            REQUIRE(run(isa, laid, x, n) == ref);
          }
        }
      }
    }
  }
}

// The K-quants the same way: random super-blocks (every bit of the packed 6-bit scales and mins,
// q6_k's signed scales) with power-of-two d / dmin, activations that are integers with one 127 a
// super-block (so d_x = 1 and q = x exactly); and weight row 0 with every value and scale at the
// top of its range against activations all 127 (the largest sums, still exact floats: multiples
// of 256). Every sum is then an exact float: each set must give the scalar result, and that the
// exact dot product of the dequantized weights.
TEST_CASE("K-quant integer parts are bit-exact against the reference") {
  std::mt19937 rng(13);
  for (DType dtype : {DType::q4_k, DType::q5_k, DType::q6_k}) {
    for (int64_t cols : {256, 768, 2048}) {
      const int64_t rows = 11, blocks = cols / 256;
      const size_t block_bytes = dtype_block_bytes(dtype);
      Weights w{dtype, rows, cols, std::vector<unsigned char>(dtype_row_bytes(dtype, cols) * rows)};
      std::uniform_int_distribution<int> byte(0, 255), two(0, 1);
      for (int64_t i = 0; i < rows * blocks; ++i) {
        unsigned char* b = w.bytes.data() + static_cast<size_t>(i) * block_bytes;
        const bool top = i < blocks;  // row 0: every value and scale at its largest
        for (size_t k = 0; k < block_bytes; ++k) b[k] = static_cast<unsigned char>(top ? 0xFF : byte(rng));
        if (dtype == DType::q6_k) {
          auto& q6 = *reinterpret_cast<BlockQ6_K*>(b);
          q6.d = f32_to_f16(two(rng) ? 1.0f : 2.0f);
          if (top) std::fill(std::begin(q6.scales), std::end(q6.scales), int8_t{-128});
        } else {
          auto& q4 = *reinterpret_cast<BlockQ4_K*>(b);  // q5_k starts the same way
          q4.d = f32_to_f16(two(rng) ? 1.0f : 2.0f);
          q4.dmin = f32_to_f16(two(rng) ? 1.0f : 0.5f);
        }
      }
      const Weights top{dtype, 1, cols, std::vector<unsigned char>(w.bytes.begin(), w.bytes.begin() + dtype_row_bytes(dtype, cols))};
      for (int64_t n : {1, 3, 4, 17, -1, -4}) {
        const bool tops = n < 0;  // the top row against all 127
        if (tops) n = -n;
        const Weights& m = tops ? top : w;
        std::vector<float> x(static_cast<size_t>(n * cols));
        std::uniform_int_distribution<int> q(-8, 8);
        for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(tops || i % 256 == 77 ? 127 : q(rng));
        const std::vector<float> ref = run(Isa::scalar, m, x, n);
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = 0; r < m.rows; ++r) {
          row_to_f32(m.ref(), r, row.data());
          for (int64_t t = 0; t < n; ++t) {
            double exact = 0;
            for (int64_t c = 0; c < cols; ++c) exact += double{row[c]} * x[t * cols + c];
            INFO(dtype_name(dtype) << " cols " << cols << " n " << n << " row " << r << " t " << t << " top " << tops);
            REQUIRE(ref[t * m.rows + r] == exact);
          }
        }
        for (Isa isa : supported_isas_and_scalar()) {
          for (const Weights& laid : every_layout(m)) {
            INFO("isa " << isa_name(isa) << " dtype " << dtype_name(dtype) << " " << layout_name(laid.layout) << " cols "
                        << cols << " n " << n << " top " << tops);
            REQUIRE(run(isa, laid, x, n) == ref);
          }
        }
      }
    }
  }
}

TEST_CASE("matmul_many quantizes the activations for both formats in one call") {
  // q4_0 takes 8-bit blocks of 32, the K-quants Q8_K blocks of 256: one call needs both.
  std::mt19937 rng(23);
  const int64_t cols = 512;
  std::vector<Weights> ws;
  std::vector<MatrixRef> refs;
  for (DType dtype : {DType::q4_0, DType::q4_k, DType::f32, DType::q6_k, DType::q8_0}) {
    ws.push_back(make_weights(dtype, random_values(static_cast<size_t>(40 * cols), rng, 1.0f), 40, cols));
  }
  for (const Weights& w : ws) refs.push_back(w.ref());
  for (int64_t n : {1, 5}) {
    const std::vector<float> x = random_values(static_cast<size_t>(n * cols), rng, 1.0f);
    std::vector<std::vector<float>> ys(ws.size(), std::vector<float>(static_cast<size_t>(n * 40)));
    std::vector<float*> outs;
    for (auto& y : ys) outs.push_back(y.data());
    ThreadTeam team(2), one(1);
    matmul_many(refs, x.data(), n, outs, team);
    for (size_t i = 0; i < ws.size(); ++i) {
      std::vector<float> want(ys[i].size());
      matmul(refs[i], x.data(), n, want.data(), one);
      INFO(dtype_name(ws[i].dtype) << " n " << n);
      REQUIRE(std::memcmp(ys[i].data(), want.data(), want.size() * sizeof(float)) == 0);
    }
  }
}

// A row of random bytes as dtype's GGUF blocks, and the same row regrouped (checked to convert back
// exactly).
struct RelaidRow {
  std::vector<unsigned char> blocks, groups;
};
RelaidRow random_relaid_row(DType dtype, int64_t cols, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  const size_t row_bytes = dtype_row_bytes(dtype, cols);
  RelaidRow row{std::vector<unsigned char>(row_bytes), std::vector<unsigned char>(row_bytes)};
  std::vector<unsigned char> back(row_bytes);
  for (auto& b : row.blocks) b = static_cast<unsigned char>(byte(rng));
  relayout_row(dtype, cols, row.blocks.data(), Layout::blocks, row.groups.data(), Layout::groups8);
  relayout_row(dtype, cols, row.groups.data(), Layout::groups8, back.data(), Layout::blocks);
  REQUIRE(back == row.blocks);
  return row;
}

// row_to_f32 reads either layout to the same floats.
void check_reads_alike(DType dtype, int64_t cols, const RelaidRow& row) {
  std::vector<float> from_blocks(static_cast<size_t>(cols)), from_groups(static_cast<size_t>(cols));
  row_to_f32({dtype, row.blocks.data(), 1, cols}, 0, from_blocks.data());
  row_to_f32({dtype, row.groups.data(), 1, cols, Layout::groups8}, 0, from_groups.data());
  REQUIRE(std::memcmp(from_blocks.data(), from_groups.data(), from_blocks.size() * sizeof(float)) == 0);
}

TEST_CASE("groups8 puts value v of block k where quant_blocks.hpp says, and converts back exactly") {
  std::mt19937 rng(17);
  // q4_0 / q4_1 / q5_0 / q5_1 block k of group g: its scale (and minimum) and value v's nibble in
  // the places of GroupQ4_0, the fifth bit (bit v of qh) in byte 4k + v % 4 of qh, bit v / 4 (the
  // 32-byte register of values 4r..4r+3: chunk c's low nibbles are register 2c, its high ones 2c + 1).
  const auto check_low_bits = [](const auto* blocks, const auto& group, int k) {
    const auto& b = blocks[k];
    REQUIRE(group.d[k] == b.d);
    if constexpr (requires { b.m; }) REQUIRE(group.m[k] == b.m);
    for (int v = 0; v < 32; ++v) {
      const int nibble = v < 16 ? b.qs[v] & 15 : b.qs[v - 16] >> 4;
      const int byte = 32 * (v / 8) + 4 * k + v % 4, shift = v % 8 < 4 ? 0 : 4;
      REQUIRE(((group.qs[byte] >> shift) & 15) == nibble);
      if constexpr (requires { b.qh; }) {
        const int plane = 2 * (v / 8) + shift / 4;  // the register of `byte`'s nibble
        REQUIRE(((group.qh[4 * k + v % 4] >> plane) & 1) == ((b.qh[v / 8] >> v % 8) & 1));
      }
    }
  };
  for (DType dtype : {DType::q8_0, DType::q4_0, DType::q4_1, DType::q5_0, DType::q5_1}) {
    for (int64_t cols : {32, 256, 288, 576, 2016}) {
      INFO(dtype_name(dtype) << " cols " << cols);
      const RelaidRow row = random_relaid_row(dtype, cols, rng);
      const std::vector<unsigned char>& blocks = row.blocks;
      const std::vector<unsigned char>& groups = row.groups;
      for (int64_t g = 0; g < cols / 256; ++g) {
        for (int k = 0; k < kGroupBlocks; ++k) {
          if (dtype == DType::q8_0) {
            const auto& b = reinterpret_cast<const BlockQ8_0*>(blocks.data())[g * 8 + k];
            const auto& group = reinterpret_cast<const GroupQ8_0*>(groups.data())[g];
            REQUIRE(group.d[k] == b.d);
            for (int v = 0; v < 32; ++v) REQUIRE(group.q[32 * (v / 4) + 4 * k + v % 4] == b.q[v]);
          } else if (dtype == DType::q4_0) {
            check_low_bits(reinterpret_cast<const BlockQ4_0*>(blocks.data()) + g * 8, reinterpret_cast<const GroupQ4_0*>(groups.data())[g], k);
          } else if (dtype == DType::q4_1) {
            check_low_bits(reinterpret_cast<const BlockQ4_1*>(blocks.data()) + g * 8, reinterpret_cast<const GroupQ4_1*>(groups.data())[g], k);
          } else if (dtype == DType::q5_0) {
            check_low_bits(reinterpret_cast<const BlockQ5_0*>(blocks.data()) + g * 8, reinterpret_cast<const GroupQ5_0*>(groups.data())[g], k);
          } else {
            check_low_bits(reinterpret_cast<const BlockQ5_1*>(blocks.data()) + g * 8, reinterpret_cast<const GroupQ5_1*>(groups.data())[g], k);
          }
        }
      }
      // The blocks after the last whole group stay as they are; row_to_f32 reads either layout.
      const size_t grouped_bytes = static_cast<size_t>(cols / 256) * 8 * dtype_block_bytes(dtype);
      REQUIRE(std::equal(groups.begin() + static_cast<std::ptrdiff_t>(grouped_bytes), groups.end(),
                         blocks.begin() + static_cast<std::ptrdiff_t>(grouped_bytes)));
      check_reads_alike(dtype, cols, row);
    }
  }
  CHECK(preferred_layout(DType::f32) == Layout::blocks);
  const bool groups8 = active_isa_id() == Isa::avx2 || active_isa_id() == Isa::avx512_vnni || active_isa_id() == Isa::avx_vnni;
  CHECK(preferred_layout(DType::q4_0) == (groups8 ? Layout::groups8 : Layout::blocks));
  for (DType dtype : {DType::q4_1, DType::q5_0, DType::q5_1}) CHECK(preferred_layout(dtype) == (groups8 ? Layout::groups8 : Layout::blocks));
  float x[32] = {}, y[1];
  std::vector<unsigned char> f32(128);
  ThreadTeam one(1);
  CHECK_THROWS(matmul({DType::f32, f32.data(), 1, 32, Layout::groups8}, x, 1, y, one));
}

TEST_CASE("K-quant groups8 puts value i of sub-block k where kquant_blocks.hpp says, and converts back exactly") {
  std::mt19937 rng(19);
  for (DType dtype : {DType::q4_k, DType::q5_k, DType::q6_k}) {
    const int64_t cols = 768;
    INFO(dtype_name(dtype));
    const RelaidRow row = random_relaid_row(dtype, cols, rng);
    const std::vector<unsigned char>& blocks = row.blocks;
    const std::vector<unsigned char>& groups = row.groups;
    for (int64_t b = 0; b < cols / 256; ++b) {
      if (dtype == DType::q4_k) {
        const auto& w = reinterpret_cast<const BlockQ4_K*>(blocks.data())[b];
        const auto& g = reinterpret_cast<const GroupQ4_K*>(groups.data())[b];
        REQUIRE((g.d == w.d && g.dmin == w.dmin));
        uint8_t sc[8], m[8], group_sc[8], group_m[8];
        unpack_scale_mins(w.scales, sc, m);
        group_scale_mins(g.scales, group_sc, group_m);
        REQUIRE((std::equal(sc, sc + 8, group_sc) && std::equal(m, m + 8, group_m)));
        for (int k = 0; k < 8; ++k) REQUIRE((g.scales[k] & 63) == sc[k]);
        for (int k = 0; k < 8; ++k)
          for (int i = 0; i < 32; ++i) REQUIRE(((g.qs[32 * (i / 8) + 4 * k + i % 4] >> (i % 8 < 4 ? 0 : 4)) & 15) == kquant_q(w, k, i));
      } else if (dtype == DType::q5_k) {
        const auto& w = reinterpret_cast<const BlockQ5_K*>(blocks.data())[b];
        const auto& g = reinterpret_cast<const GroupQ5_K*>(groups.data())[b];
        for (int k = 0; k < 8; ++k)
          for (int i = 0; i < 32; ++i) {
            const int bit = group_q5_k_bit(k, i);
            const int q = ((g.qs[group_q4_k_byte(k, i)] >> group_q4_k_shift(i)) & 15) | ((g.qh[bit / 8] >> bit % 8) & 1) << 4;
            REQUIRE(q == kquant_q(w, k, i));
          }
      } else {
        const auto& w = reinterpret_cast<const BlockQ6_K*>(blocks.data())[b];
        const auto& g = reinterpret_cast<const GroupQ6_K*>(groups.data())[b];
        REQUIRE((g.d == w.d && std::equal(std::begin(g.scales), std::end(g.scales), w.scales)));
        for (int k = 0; k < 16; ++k)
          for (int i = 0; i < 16; ++i) {
            const int r = i / 4, p = 4 * k + i % 4;
            const int q = ((g.ql[64 * (r / 2) + p] >> 4 * (r % 2)) & 15) | ((g.qh[p] >> 2 * r) & 3) << 4;
            REQUIRE(q - 32 == q6_value(w, 16 * k + i));
          }
      }
    }
    check_reads_alike(dtype, cols, row);
  }
  const bool groups8 = active_isa_id() == Isa::avx2 || active_isa_id() == Isa::avx512_vnni || active_isa_id() == Isa::avx_vnni;
  for (DType dtype : {DType::q4_k, DType::q5_k, DType::q6_k}) CHECK(preferred_layout(dtype) == (groups8 ? Layout::groups8 : Layout::blocks));
}

TEST_CASE("the activation quantizer never writes -128 and rounds within half a step") {
  std::mt19937 rng(5);
  std::vector<float> x = random_values(32 * 40, rng, 4.0f);
  x[7] = std::nanf("");
  x[40] = INFINITY;
  std::vector<int8_t> q(x.size());
  std::vector<float> d(x.size() / 32);
  std::vector<int32_t> sums(x.size() / 32);
  quantize_act_row(x.data(), static_cast<int64_t>(x.size()), q.data(), d.data(), sums.data());
  for (size_t i = 0; i < x.size(); ++i) {
    REQUIRE(q[i] != -128);
    if (i >= 64) REQUIRE(std::fabs(q[i] * d[i / 32] - x[i]) <= 0.5f * d[i / 32] * (1 + 1e-6f));
  }
  for (size_t b = 0; b < sums.size(); ++b) {
    REQUIRE(sums[b] == std::accumulate(q.begin() + 32 * b, q.begin() + 32 * (b + 1), 0));
  }
}

TEST_CASE("every kernel set's activation quantizer writes the same bytes") {
  std::mt19937 rng(6);
  std::vector<float> x;
  for (float scale : {1e-30f, 1e-3f, 1.0f, 4.0f, 1e30f}) {
    const std::vector<float> r = random_values(32 * 16, rng, scale);
    x.insert(x.end(), r.begin(), r.end());
  }
  // Halfway cases: max 127 makes the scale 1, so k + 0.5 rounds to even.
  for (int i = 0; i < 32; ++i) x.push_back(i == 0 ? 127.0f : static_cast<float>(i % 9) - 4.5f);
  // Zeros, -0, denormals, NaN of either sign, infinities, the largest floats.
  const float odd[] = {0.0f, -0.0f, 1e-45f, -1e-40f, std::nanf(""), -std::nanf(""), INFINITY, -INFINITY, 3.4e38f, -3.4e38f};
  for (int b = 0; b < 12; ++b) {
    for (int i = 0; i < 32; ++i) x.push_back((i + b) % 3 == 0 ? odd[(i + b) % 10] : (b % 2 ? 0.0f : static_cast<float>(i) - 16));
  }
  const int64_t cols = static_cast<int64_t>(x.size()), blocks = cols / 32;
  std::vector<int8_t> q(x.size());
  std::vector<float> d(static_cast<size_t>(blocks));
  std::vector<int32_t> sums(d.size());
  quantize_act_row(x.data(), cols, q.data(), d.data(), sums.data());
  for (Isa isa : supported_isas()) {
    INFO(isa_name(isa));
    std::vector<int8_t> q2(q.size(), 99);
    std::vector<float> d2(d.size(), 99);
    std::vector<int32_t> sums2(sums.size(), 99);
    kernel_set(isa)->quantize_acts(x.data(), cols, q2.data(), d2.data(), sums2.data());
    CHECK(q2 == q);
    CHECK(std::memcmp(d2.data(), d.data(), d.size() * sizeof(float)) == 0);
    CHECK(sums2 == sums);
  }
}

TEST_CASE("every kernel set's Q8_K activation quantizer writes the same bytes") {
  std::mt19937 rng(7);
  std::vector<float> x;
  for (float scale : {1e-30f, 1e-3f, 1.0f, 4.0f, 1e30f}) {
    const std::vector<float> r = random_values(2 * 256, rng, scale);
    x.insert(x.end(), r.begin(), r.end());
  }
  // Halfway cases (max 127: the scale is 1, k + 0.5 rounds to even), then NaN of either sign,
  // denormals and the largest floats in a super-block that is still usable, then one with
  // infinities (unusable: all zero), then zeros.
  for (int i = 0; i < 256; ++i) x.push_back(i == 0 ? 127.0f : static_cast<float>(i % 9) - 4.5f);
  const float odd[] = {0.0f, -0.0f, 1e-45f, -1e-40f, std::nanf(""), -std::nanf(""), 3.4e38f, -3.4e38f, INFINITY, -INFINITY};
  for (int i = 0; i < 256; ++i) x.push_back(i % 3 == 0 ? odd[i % 8] : static_cast<float>(i) - 128);
  for (int i = 0; i < 256; ++i) x.push_back(i % 3 == 0 ? odd[i % 10] : static_cast<float>(i) - 128);
  x.insert(x.end(), 256, 0.0f);
  const int64_t cols = static_cast<int64_t>(x.size()), blocks = cols / 256;
  std::vector<int8_t> q(x.size());
  std::vector<float> d(static_cast<size_t>(blocks));
  std::vector<int16_t> bsums(d.size() * 16);
  quantize_act_row_q8_k(x.data(), cols, q.data(), d.data(), bsums.data());
  for (int64_t k = 0; k < blocks * 16; ++k) REQUIRE(bsums[k] == std::accumulate(q.begin() + 16 * k, q.begin() + 16 * (k + 1), 0));
  for (Isa isa : supported_isas()) {
    INFO(isa_name(isa));
    std::vector<int8_t> q2(q.size(), 99);
    std::vector<float> d2(d.size(), 99);
    std::vector<int16_t> bsums2(bsums.size(), 99);
    kernel_set(isa)->quantize_acts_k(x.data(), cols, q2.data(), d2.data(), bsums2.data());
    CHECK(q2 == q);
    CHECK(std::memcmp(d2.data(), d.data(), d.size() * sizeof(float)) == 0);
    CHECK(bsums2 == bsums);
  }
}

TEST_CASE("results do not depend on the thread count or on n") {
  // n = 17, 7 and 2 leave 1, 3 (or 7) and 2 activation rows after the kernels' full tiles of 4 or 8.
  std::mt19937 rng(9);
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{300, 512}, {21, 864}, {40, 8224}, {19, 10272}, {9, 10240}, {37, 2304}}) {
    for (Isa isa : supported_isas()) {
      for (DType dtype : kDTypes) {
        if (!fits(dtype, cols)) continue;
        const Weights blocks = make_weights(dtype, random_values(static_cast<size_t>(rows * cols), rng, 1.0f), rows, cols);
        for (int64_t n : {17, 7, 2}) {
          const std::vector<float> x = random_values(static_cast<size_t>(n * cols), rng, 1.0f);
          for (const Weights& w : every_layout(blocks)) {
            INFO("isa " << isa_name(isa) << " dtype " << dtype_name(dtype) << " " << layout_name(w.layout) << " cols " << cols << " n " << n);
            const std::vector<float> one = run(isa, w, x, n, 1);
            const std::vector<float> two = run(isa, w, x, n, 2);
            REQUIRE(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
            for (int64_t t : {int64_t{0}, n / 2, n - 1}) {
              const std::vector<float> xt(x.begin() + t * cols, x.begin() + (t + 1) * cols);
              const std::vector<float> single = run(isa, w, xt, 1, 2);
              REQUIRE(std::memcmp(single.data(), one.data() + t * rows, rows * sizeof(float)) == 0);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("matmul_many splits the stacked rows of its matrices over any thread count") {
  // Large enough for teams of up to 5 threads, row counts that are not multiples of 16, and a
  // matrix smaller than one thread's share: decode (n = 1) gives each thread one contiguous range
  // of the stacked rows, prefill deals chunks out. Every output must equal matmul()'s on one
  // thread, and nothing outside the outputs may be written.
  std::mt19937 rng(21);
  const int64_t cols = 1024;
  const int64_t rows[] = {1000, 37, 300};
  for (const auto& [dtype, layout] : {std::pair{DType::f32, Layout::blocks}, {DType::q8_0, Layout::blocks}, {DType::q4_0, Layout::blocks},
                                       {DType::q8_0, Layout::groups8}, {DType::q4_0, Layout::groups8}, {DType::q4_1, Layout::blocks},
                                       {DType::q4_1, Layout::groups8}, {DType::q5_0, Layout::blocks}, {DType::q5_0, Layout::groups8},
                                       {DType::q5_1, Layout::blocks}, {DType::q5_1, Layout::groups8}, {DType::q4_k, Layout::blocks},
                                       {DType::q6_k, Layout::blocks}}) {
    std::vector<Weights> ws;
    std::vector<MatrixRef> refs;
    for (int64_t r : rows) {
      ws.push_back(relaid(make_weights(dtype, random_values(static_cast<size_t>(r * cols), rng, 1.0f), r, cols), layout));
    }
    for (const Weights& w : ws) refs.push_back(w.ref());
    for (int64_t n : {1, 3}) {
      const std::vector<float> x = random_values(static_cast<size_t>(n * cols), rng, 1.0f);
      for (int threads : {1, 2, 3, 5}) {
        INFO("dtype " << dtype_name(dtype) << " " << layout_name(layout) << " n " << n << " threads " << threads);
        std::vector<std::vector<float>> ys;
        std::vector<float*> outs;
        for (int64_t r : rows) ys.emplace_back(static_cast<size_t>(n * r + 16), -7.0f);
        for (auto& y : ys) outs.push_back(y.data());
        ThreadTeam team(threads), one(1);
        matmul_many(refs, x.data(), n, outs, team);
        for (size_t i = 0; i < ws.size(); ++i) {
          std::vector<float> want(static_cast<size_t>(n * rows[i]));
          matmul(refs[i], x.data(), n, want.data(), one);
          REQUIRE(std::memcmp(ys[i].data(), want.data(), want.size() * sizeof(float)) == 0);
          for (size_t g = want.size(); g < ys[i].size(); ++g) REQUIRE(ys[i][g] == -7.0f);
        }
      }
    }
  }
}

TEST_CASE("kernel sets the CPU lacks are refused, bad shapes are rejected") {
  ThreadTeam one(1);
  for (Isa isa : kIsas) {
    if (!isa_supported(isa)) {
      float x[32] = {}, y[1];
      std::vector<unsigned char> w(34);
      CHECK_THROWS(matmul_with(isa, {DType::q8_0, w.data(), 1, 32}, x, 1, y, one));
    }
  }
  std::vector<float> x(40), y(2);
  std::vector<unsigned char> w(80);
  CHECK_THROWS(matmul({DType::q4_0, w.data(), 2, 40}, x.data(), 1, y.data(), one));
}

TEST_CASE("dot_rows matches a double-precision dot product in every kernel set") {
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const std::vector<Isa> isas = supported_isas_and_scalar();
  const auto at = [](int64_t i) { return static_cast<size_t>(i); };
  for (int64_t queries : {1, 2, 3, 7}) {
    for (int64_t cols : {1, 7, 8, 40, 64, 96, 128}) {
      for (int64_t count : {0, 1, 2, 7, 8, 9, 17, 64}) {
        const int64_t row_stride = cols + 5, out_stride = count + 3;  // strided keys, as the chunk's own
        std::vector<float> q(at(queries * cols)), rows(at(std::max<int64_t>(count, 1) * row_stride));
        for (auto& v : q) v = u(rng);
        for (auto& v : rows) v = u(rng);
        for (Isa isa : isas) {
          std::vector<float> out(at(queries * out_stride), -7.0f);
          dot_rows_with(isa, q.data(), queries, rows.data(), row_stride, count, cols, out.data(), out_stride);
          for (int64_t g = 0; g < queries; ++g) {
            for (int64_t t = 0; t < out_stride; ++t) {
              INFO(isa_name(isa) << " queries " << queries << " cols " << cols << " count " << count << " g " << g << " t " << t);
              if (t >= count) {
                CHECK(out[at(g * out_stride + t)] == -7.0f);  // nothing written past count
                continue;
              }
              double expected = 0;
              for (int64_t d = 0; d < cols; ++d) expected += double{q[at(g * cols + d)]} * rows[at(t * row_stride + d)];
              CHECK(std::abs(out[at(g * out_stride + t)] - expected) <= 1e-6 * (1 + cols));
            }
          }
        }
      }
    }
  }
  // Each score is the same whichever run of positions it is computed in.
  const int64_t cols = 64, count = 37;
  std::vector<float> q(3 * cols), rows(count * cols), whole(3 * count), parts(3 * count);
  for (auto& v : q) v = u(rng);
  for (auto& v : rows) v = u(rng);
  dot_rows(q.data(), 3, rows.data(), cols, count, cols, whole.data(), count);
  for (int64_t t0 = 0; t0 < count; t0 += 5) {
    const int64_t n = std::min<int64_t>(5, count - t0);
    dot_rows(q.data(), 3, rows.data() + t0 * cols, cols, n, cols, parts.data() + t0, count);
  }
  CHECK(whole == parts);
  for (Isa isa : kIsas) {
    if (!isa_supported(isa)) {
      float one[1] = {1}, out[1] = {0};
      CHECK_THROWS(dot_rows_with(isa, one, 1, one, 1, 1, 1, out, 1));
    }
  }
}

TEST_CASE("add_weighted_rows matches a double-precision sum in every kernel set") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const std::vector<Isa> isas = supported_isas_and_scalar();
  const auto at = [](int64_t i) { return static_cast<size_t>(i); };
  for (int64_t outputs : {1, 2, 3, 4, 7}) {
    for (int64_t cols : {1, 7, 8, 40, 64, 96, 128}) {
      for (int64_t count : {0, 1, 2, 3, 5, 9, 64}) {
        const int64_t stride = count + 3;  // the weights of output g start at g * stride
        std::vector<float> w(at(outputs * stride)), rows(at(count * cols)), start(at(outputs * cols));
        for (auto& v : w) v = u(rng);
        for (auto& v : rows) v = u(rng);
        for (auto& v : start) v = u(rng);
        std::vector<double> expected(start.begin(), start.end());
        for (int64_t g = 0; g < outputs; ++g) {
          for (int64_t t = 0; t < count; ++t) {
            for (int64_t d = 0; d < cols; ++d) expected[at(g * cols + d)] += double{w[at(g * stride + t)]} * rows[at(t * cols + d)];
          }
        }
        for (Isa isa : isas) {
          std::vector<float> out = start;
          add_weighted_rows_with(isa, w.data(), stride, outputs, rows.data(), count, cols, out.data());
          for (int64_t i = 0; i < outputs * cols; ++i) {
            INFO(isa_name(isa) << " outputs " << outputs << " cols " << cols << " count " << count << " i " << i);
            CHECK(std::abs(out[at(i)] - expected[at(i)]) <= 1e-6 * (1 + count));
          }
        }
      }
    }
  }
  for (Isa isa : kIsas) {
    if (!isa_supported(isa)) {
      float w[1] = {1}, rows[1] = {1}, out[1] = {0};
      CHECK_THROWS(add_weighted_rows_with(isa, w, 1, 1, rows, 1, 1, out));
    }
  }
}

// Attention adds a batch's own values one row at a time where a local layer's ring cannot hold
// them yet, and cached values in runs: the sum must not depend on how the rows are split.
TEST_CASE("add_weighted_rows gives the same bits however its rows are split into calls, in every kernel set") {
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const auto at = [](int64_t i) { return static_cast<size_t>(i); };
  const int64_t count = 13;
  for (int64_t outputs : {1, 2, 3, 4}) {
    for (int64_t cols : {16, 40, 64, 256}) {
      std::vector<float> w(at(outputs * count)), rows(at(count * cols)), start(at(outputs * cols));
      for (auto& v : w) v = u(rng);
      for (auto& v : rows) v = u(rng);
      for (auto& v : start) v = u(rng);
      for (Isa isa : supported_isas_and_scalar()) {
        std::vector<float> whole = start;
        add_weighted_rows_with(isa, w.data(), count, outputs, rows.data(), count, cols, whole.data());
        for (int64_t piece : {1, 2, 3, 5}) {
          std::vector<float> split = start;
          for (int64_t t0 = 0; t0 < count; t0 += piece) {
            add_weighted_rows_with(isa, w.data() + t0, count, outputs, rows.data() + t0 * cols, std::min(piece, count - t0),
                                   cols, split.data());
          }
          INFO(isa_name(isa) << " outputs " << outputs << " cols " << cols << " pieces of " << piece);
          REQUIRE(std::memcmp(split.data(), whole.data(), whole.size() * sizeof(float)) == 0);
        }
      }
    }
  }
}

TEST_CASE("f16 rows give exactly the f32 functions' results on the same values, in every kernel set") {
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  const auto at = [](int64_t i) { return static_cast<size_t>(i); };
  // Values an f16 KV cache holds: normal, subnormal and zero halves, both signs.
  const auto random_rows = [&](int64_t n, std::vector<uint16_t>& half, std::vector<float>& full) {
    half.resize(at(n));
    full.resize(at(n));
    for (int64_t i = 0; i < n; ++i) {
      const float x = i % 97 == 5 ? u(rng) * 1e-6f : i % 89 == 3 ? 0.0f : u(rng);
      half[at(i)] = f32_to_f16(x);
      full[at(i)] = f16_to_f32(half[at(i)]);
    }
  };
  for (Isa isa : supported_isas_and_scalar()) {
    for (int64_t groups : {1, 2, 3, 4, 7}) {
      for (int64_t cols : {1, 7, 8, 40, 64, 128}) {
        for (int64_t count : {0, 1, 2, 5, 9, 64}) {
          INFO(isa_name(isa) << " groups " << groups << " cols " << cols << " count " << count);
          const int64_t row_stride = cols + 3, out_stride = count + 2;
          std::vector<float> q(at(groups * cols)), full;
          std::vector<uint16_t> half;
          for (auto& v : q) v = u(rng);
          random_rows(std::max<int64_t>(count, 1) * row_stride, half, full);
          std::vector<float> from_f32(at(groups * out_stride), -7.0f), from_f16 = from_f32;
          dot_rows_with(isa, q.data(), groups, full.data(), row_stride, count, cols, from_f32.data(), out_stride);
          dot_rows_f16_with(isa, q.data(), groups, half.data(), row_stride, count, cols, from_f16.data(), out_stride);
          CHECK(from_f16 == from_f32);

          const int64_t w_stride = count + 3;
          std::vector<float> w(at(groups * w_stride)), start(at(groups * cols));
          for (auto& v : w) v = u(rng);
          for (auto& v : start) v = u(rng);
          random_rows(count * cols, half, full);
          std::vector<float> sum_f32 = start, sum_f16 = start;
          add_weighted_rows_with(isa, w.data(), w_stride, groups, full.data(), count, cols, sum_f32.data());
          add_weighted_rows_f16_with(isa, w.data(), w_stride, groups, half.data(), count, cols, sum_f16.data());
          CHECK(sum_f16 == sum_f32);
        }
      }
    }
  }
}

TEST_CASE("to_f16_saturated rounds like f32_to_f16 and saturates, from_f16 is exact, in every kernel set") {
  std::mt19937 rng(14);
  std::vector<float> x;
  for (float v : {0.0f, -0.0f, 1.0f, 65504.0f, 65519.0f, 65520.0f, 1e6f, -1e30f, INFINITY, -INFINITY, 6e-8f, 3e-8f,
                  2.9e-8f, 1e-10f, 1.0009765625f, 1.00048828125f, 1.00146484375f})
    x.push_back(v);
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  for (int i = 0; i < 301; ++i) x.push_back(u(rng) * std::pow(2.0f, static_cast<float>(i % 40 - 26)));
  std::vector<uint16_t> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = f32_to_f16(std::clamp(x[i], -65504.0f, 65504.0f));
  for (Isa isa : supported_isas_and_scalar()) {
    INFO(isa_name(isa));
    std::vector<uint16_t> h(x.size());
    to_f16_saturated_with(isa, x.data(), static_cast<int64_t>(x.size()), h.data());
    CHECK(h == want);
    std::vector<float> back(x.size());
    from_f16_with(isa, h.data(), static_cast<int64_t>(h.size()), back.data());
    for (size_t i = 0; i < h.size(); ++i) CHECK(back[i] == f16_to_f32(h[i]));
    const float nan = NAN;
    uint16_t one = 0;
    to_f16_saturated_with(isa, &nan, 1, &one);
    CHECK(std::isnan(f16_to_f32(one)));
  }
}

TEST_CASE("softmax matches a double-precision softmax in every kernel set") {
  std::mt19937 rng(5);
  const std::vector<Isa> isas = supported_isas_and_scalar();
  for (float spread : {0.1f, 10.0f, 200.0f}) {
    std::uniform_real_distribution<float> u(-spread, spread);
    for (int64_t n : {1, 2, 7, 8, 9, 31, 64, 1000}) {
      std::vector<float> start(static_cast<size_t>(n));
      for (auto& v : start) v = u(rng);
      const double max = *std::max_element(start.begin(), start.end());
      double sum = 0;
      for (float v : start) sum += std::exp(double{v} - max);
      for (Isa isa : isas) {
        std::vector<float> x = start;
        softmax_with(isa, x.data(), n);
        for (int64_t i = 0; i < n; ++i) {
          const double expected = std::exp(double{start[static_cast<size_t>(i)]} - max) / sum;
          INFO(isa_name(isa) << " spread " << spread << " n " << n << " i " << i);
          // Each value within a few ulp; the f32 sum of n values adds up to ~n/2 ulp of rounding.
          CHECK(std::abs(x[static_cast<size_t>(i)] - expected) <= (1e-6 + 1e-8 * static_cast<double>(n)) * expected + 1e-30);
        }
      }
    }
  }
  // Equal scores, and -infinity (a masked position) beside finite ones.
  for (Isa isa : isas) {
    std::vector<float> x(13, 3.0f);
    softmax_with(isa, x.data(), 13);
    for (float v : x) CHECK(std::abs(v - 1.0f / 13) <= 1e-7f);
    std::vector<float> y = {0.0f, -INFINITY, 0.0f, -INFINITY, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    softmax_with(isa, y.data(), 10);
    CHECK(y[1] == 0.0f);
    CHECK(std::abs(y[0] - 0.125f) <= 1e-7f);
  }
}

TEST_CASE("silu_mul matches a double-precision silu in every kernel set") {
  std::mt19937 rng(6);
  const std::vector<Isa> isas = supported_isas_and_scalar();
  for (float spread : {0.5f, 8.0f, 120.0f}) {
    std::uniform_real_distribution<float> u(-spread, spread);
    for (int64_t n : {1, 7, 8, 9, 33, 1536}) {
      std::vector<float> gate(static_cast<size_t>(n)), up(static_cast<size_t>(n));
      for (auto& v : gate) v = u(rng);
      for (auto& v : up) v = u(rng);
      for (Isa isa : isas) {
        std::vector<float> got = gate;
        silu_mul_with(isa, got.data(), up.data(), n);
        for (size_t i = 0; i < got.size(); ++i) {
          const double g = gate[i], expected = g / (1.0 + std::exp(-g)) * up[i];
          INFO(isa_name(isa) << " n " << n << " gate " << g << " up " << up[i]);
          // e^x within 2 ulp, then a division and two products: a few ulp of the result. Below
          // g = -88, e^-g overflows f32 (std::exp) or e^g underflows (AVX2): results under 1e-30
          // may come out as 0.
          CHECK(std::abs(got[i] - expected) <= 1e-6 * std::abs(expected) + 1e-30);
        }
      }
    }
  }
  // Where e^-g overflows or underflows, and non-finite inputs.
  for (Isa isa : isas) {
    std::vector<float> g = {0.0f, -0.0f, 90.0f, -90.0f, 1e30f, -1e30f, INFINITY, NAN};
    const std::vector<float> up(g.size(), 2.0f);
    silu_mul_with(isa, g.data(), up.data(), static_cast<int64_t>(g.size()));
    INFO(isa_name(isa));
    CHECK(g[0] == 0.0f);
    CHECK(g[1] == 0.0f);
    CHECK(g[2] == 180.0f);
    CHECK(std::abs(g[3]) <= 1e-36f);
    CHECK(g[4] == 2e30f);
    CHECK(g[5] == 0.0f);
    CHECK(g[6] == INFINITY);
    CHECK(std::isnan(g[7]));
  }
}

TEST_CASE("gelu_tanh_mul matches a double-precision tanh GELU in every kernel set") {
  std::mt19937 rng(16);
  const std::vector<Isa> isas = supported_isas_and_scalar();
  for (float spread : {0.05f, 0.5f, 4.0f, 60.0f}) {
    std::uniform_real_distribution<float> u(-spread, spread);
    for (int64_t n : {1, 7, 8, 9, 33, 2304}) {
      std::vector<float> gate(static_cast<size_t>(n)), up(static_cast<size_t>(n));
      for (auto& v : gate) v = u(rng);
      for (auto& v : up) v = u(rng);
      for (Isa isa : isas) {
        std::vector<float> got = gate;
        gelu_tanh_mul_with(isa, got.data(), up.data(), n);
        for (size_t i = 0; i < got.size(); ++i) {
          const double g = gate[i], inner = std::sqrt(2.0 / std::numbers::pi) * (g + 0.044715 * g * g * g);
          const double expected = 0.5 * g * (1.0 + std::tanh(inner)) * up[i];
          INFO(isa_name(isa) << " n " << n << " gate " << g << " up " << up[i]);
          // tanh within a few ulp, and 1 + tanh cancels for very negative g in f32 whatever tanh
          // is: an error of about 2^-24 of 0.5 |g up| there.
          CHECK(std::abs(got[i] - expected) <= 1e-6 * std::abs(expected) + 1.2e-7 * std::abs(0.5 * g * up[i]) + 1e-30);
        }
      }
    }
  }
  for (Isa isa : isas) {
    std::vector<float> g = {0.0f, 30.0f, -30.0f, 1e30f, INFINITY, NAN};
    const std::vector<float> up(g.size(), 2.0f);
    gelu_tanh_mul_with(isa, g.data(), up.data(), static_cast<int64_t>(g.size()));
    INFO(isa_name(isa));
    CHECK(g[0] == 0.0f);
    CHECK(g[1] == 60.0f);
    CHECK(g[2] == 0.0f);
    CHECK(g[3] == 2e30f);
    CHECK(g[4] == INFINITY);
    CHECK(std::isnan(g[5]));
  }
}

TEST_CASE("softcap matches a double-precision tanh in every kernel set") {
  std::mt19937 rng(17);
  const std::vector<Isa> isas = supported_isas_and_scalar();
  for (float cap : {50.0f, 30.0f, 2.0f}) {
    for (float spread : {1e-3f, 0.7f, 30.0f, 400.0f}) {
      std::uniform_real_distribution<float> u(-spread * cap, spread * cap);
      for (int64_t n : {1, 5, 8, 9, 65, 1000}) {
        std::vector<float> x(static_cast<size_t>(n));
        for (auto& v : x) v = u(rng);
        for (Isa isa : isas) {
          std::vector<float> got = x;
          softcap_with(isa, got.data(), n, cap);
          for (size_t i = 0; i < got.size(); ++i) {
            const double expected = std::tanh(double{x[i]} / cap) * cap;
            INFO(isa_name(isa) << " cap " << cap << " x " << x[i]);
            CHECK(std::abs(got[i] - expected) <= 1e-6 * std::abs(expected) + 1e-30);
          }
        }
      }
    }
  }
  for (Isa isa : isas) {
    std::vector<float> x = {0.0f, -0.0f, 1e-30f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN};
    softcap_with(isa, x.data(), static_cast<int64_t>(x.size()), 30.0f);
    INFO(isa_name(isa));
    CHECK(x[0] == 0.0f);
    CHECK(std::signbit(x[1]));
    CHECK(std::abs(x[2] - 1e-30f) <= 1e-36f);
    CHECK(x[3] == 30.0f);
    CHECK(x[4] == -30.0f);
    CHECK(x[5] == 30.0f);
    CHECK(x[6] == -30.0f);
    CHECK(std::isnan(x[7]));
  }
}
