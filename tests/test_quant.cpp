// Block formats: GGUF-compatible layout, quantize / dequantize round trip within the block's error
// bound, Tensor sizes of block types, and the f16 / bf16 conversions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/convert.hpp"
#include "kernels/kernels.hpp"
#include "kernels/quant_blocks.hpp"
#include "slim/error.hpp"
#include "slim/tensor.hpp"

using namespace slim;
using namespace slim::kernels;

TEST_CASE("block dtype sizes") {
  CHECK(dtype_block_elems(DType::q8_0) == 32);
  CHECK(dtype_block_elems(DType::q4_0) == 32);
  CHECK(dtype_block_elems(DType::bf16) == 1);
  CHECK(dtype_row_bytes(DType::q8_0, 64) == 68);
  CHECK(dtype_row_bytes(DType::q4_0, 896) == 28 * 18);
  CHECK(dtype_row_bytes(DType::bf16, 3) == 6);
  CHECK(dtype_size(DType::f32) == 4);
  CHECK(dtype_size(DType::q4_0) == 0);
  CHECK(dtype_name(DType::q4_0) == "q4_0");
  CHECK(dtype_row_bytes(DType::q4_1, 64) == 40);
  CHECK(dtype_row_bytes(DType::q5_0, 64) == 44);
  CHECK(dtype_row_bytes(DType::q5_1, 64) == 48);
  CHECK(dtype_name(DType::q5_1) == "q5_1");
}

TEST_CASE("Tensor sizes of block types") {
  CHECK(Tensor::zeros(DType::q8_0, {3, 64}).nbytes() == 3 * 2 * 34);
  CHECK(Tensor::zeros(DType::q4_0, {2, 3, 32}).nbytes() == 6 * 18);
  CHECK(Tensor::zeros(DType::q4_0, {0, 32}).nbytes() == 0);
  CHECK(Tensor::zeros(DType::bf16, {5, 3}).nbytes() == 30);
  CHECK(Tensor::zeros(DType::f32, std::span<const int64_t>{}).nbytes() == 4);
  CHECK_THROWS_AS(Tensor::zeros(DType::q4_0, {5, 33}), Error);
  CHECK_THROWS_AS(Tensor::zeros(DType::q8_0, std::span<const int64_t>{}), Error);
  CHECK(Tensor::zeros(DType::q4_0, {4, 64}).describe() == "[4, 64] q4_0");
}

TEST_CASE("q4_0 and q8_0 blocks have GGUF's layout") {
  float x[32];
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i - 8);  // -8 has the largest magnitude
  for (int i = 16; i < 32; ++i) x[i] = i == 20 ? 7.0f : 0.0f;
  BlockQ4_0 b4;
  quantize_row(DType::q4_0, x, 32, &b4);
  CHECK(b4.d == 0x3C00);  // d = -8 / -8 = 1.0
  for (int i = 0; i < 16; ++i) {
    INFO(i);
    CHECK((b4.qs[i] & 15) == i);                    // element i: low nibble
    CHECK((b4.qs[i] >> 4) == (i == 4 ? 15 : 8));    // element 16 + i: high nibble
  }
  unsigned char bytes[18];
  std::memcpy(bytes, &b4, 18);
  CHECK(bytes[0] == 0x00);  // little-endian fp16 first, then the nibbles
  CHECK(bytes[1] == 0x3C);
  CHECK(bytes[2] == 0x80);

  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16);
  BlockQ8_0 b8;
  quantize_row(DType::q8_0, x, 32, &b8);
  CHECK(b8.d == f32_to_f16(16.0f / 127.0f));
  CHECK(b8.q[0] == -127);
  CHECK(b8.q[16] == 0);
  CHECK(b8.q[17] == 8);  // round(127 / 16) = round(7.94)
  CHECK(b8.q[31] == 119);  // round(15 * 127 / 16) = round(119.06)

  const float zeros[32] = {};
  quantize_row(DType::q4_0, zeros, 32, &b4);
  CHECK(f16_to_f32(b4.d) == 0.0f);  // -0 like ggml: 0 / -8
  for (uint8_t q : b4.qs) CHECK(q == 0x88);
  quantize_row(DType::q8_0, zeros, 32, &b8);
  for (int8_t q : b8.q) CHECK(q == 0);
}

TEST_CASE("q4_1, q5_0 and q5_1 blocks have GGUF's layout") {
  float x[32];
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i) - 16.0f;  // -16 has the largest magnitude
  BlockQ5_0 b5;
  quantize_row(DType::q5_0, x, 32, &b5);
  CHECK(b5.d == 0x3C00);  // d = -16 / -16 = 1: quant i = i
  for (int i = 0; i < 16; ++i) {
    INFO(i);
    CHECK((b5.qs[i] & 15) == i);               // element i: low nibble
    CHECK((b5.qs[i] >> 4) == ((i + 16) & 15));  // element 16 + i: high nibble
  }
  CHECK(q5_high_bits(b5.qh) == 0xFFFF0000u);  // the fifth bit of element i is bit i
  CHECK(b5.qh[2] == 0xFF);
  unsigned char bytes[24];
  std::memcpy(bytes, &b5, 22);
  CHECK(bytes[0] == 0x00);  // fp16 d, then qh, then the nibbles
  CHECK(bytes[1] == 0x3C);
  CHECK(bytes[6] == 0x00);
  CHECK(bytes[7] == 0x11);

  for (int i = 0; i < 32; ++i) x[i] = 2.0f + (i == 1 ? 31.0f : i == 20 ? 17.0f : 0.0f);  // min 2, max 33
  BlockQ5_1 b51;
  quantize_row(DType::q5_1, x, 32, &b51);
  CHECK(b51.d == 0x3C00);  // (33 - 2) / 31
  CHECK(b51.m == f32_to_f16(2.0f));
  CHECK(q5_high_bits(b51.qh) == ((1u << 1) | (1u << 20)));
  CHECK(b51.qs[1] == 0x0F);
  CHECK(b51.qs[4] == 0x10);
  std::memcpy(bytes, &b51, 24);
  CHECK(bytes[2] == 0x00);  // fp16 m after d
  CHECK(bytes[3] == 0x40);
  CHECK(bytes[4] == 0x02);  // qh: bit 1

  BlockQ4_1 b41;
  for (int i = 0; i < 32; ++i) x[i] = -1.0f + (i == 17 ? 15.0f : 0.0f);
  quantize_row(DType::q4_1, x, 32, &b41);
  CHECK(b41.d == 0x3C00);
  CHECK(b41.m == f32_to_f16(-1.0f));
  CHECK(b41.qs[1] == 0xF0);  // element 17: high nibble of byte 1
  CHECK(b41.qs[0] == 0x00);

  const float zeros[32] = {};
  quantize_row(DType::q4_1, zeros, 32, &b41);
  CHECK(f16_to_f32(b41.d) == 0.0f);
  for (uint8_t q : b41.qs) CHECK(q == 0);
  quantize_row(DType::q5_0, zeros, 32, &b5);
  for (uint8_t q : b5.qs) CHECK(q == 0);  // quant 16: low nibbles 0, fifth bits set
  CHECK(q5_high_bits(b5.qh) == 0xFFFFFFFFu);
}

TEST_CASE("q8_0 rounds exactly like roundf: halves away from zero") {
  // With 127 in the block, d = 1 and x / d = x: every value below is rounded as given.
  std::vector<float> values;
  for (float v = -126.5f; v <= 126.5f; v += 1.0f) {
    values.push_back(v);
    values.push_back(std::nextafter(v, 0.0f));
    values.push_back(std::nextafter(v, v > 0 ? 200.0f : -200.0f));
  }
  for (float v : {0.0f, -0.0f, 0.49999997f, -0.49999997f, 1e-30f, 126.99999f}) values.push_back(v);
  for (size_t start = 0; start < values.size(); start += 31) {
    float x[32] = {127.0f};
    for (size_t i = 0; i < 31 && start + i < values.size(); ++i) x[i + 1] = values[start + i];
    BlockQ8_0 b;
    quantize_row(DType::q8_0, x, 32, &b);
    REQUIRE(f16_to_f32(b.d) == 1.0f);
    for (int i = 0; i < 32; ++i) {
      INFO("x = " << x[i]);
      CHECK(b.q[i] == static_cast<int8_t>(std::round(x[i])));
    }
  }
}

TEST_CASE("quantize then dequantize stays within the block's error bound") {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t cols = 32 * 64;
  std::vector<float> x(cols), back(cols);
  for (int64_t i = 0; i < cols; ++i) x[i] = normal(rng) * std::pow(10.0f, static_cast<float>(i / 32 % 9) - 4.0f);
  for (DType dtype : {DType::q8_0, DType::q4_0, DType::q4_1, DType::q5_0, DType::q5_1}) {
    std::vector<unsigned char> q(dtype_row_bytes(dtype, cols));
    quantize_row(dtype, x.data(), cols, q.data());
    row_to_f32({dtype, q.data(), 1, cols}, 0, back.data());
    for (int64_t b = 0; b < cols / 32; ++b) {
      const size_t block_bytes = dtype_block_bytes(dtype);
      uint16_t dbits;
      std::memcpy(&dbits, q.data() + b * block_bytes, 2);
      const float d = std::fabs(f16_to_f32(dbits));
      // Half a step of rounding (a whole step for q4_0, whose largest positive value is 7 d while
      // the range reaches 8 d), plus |q| times the fp16 rounding of d (relative 2^-11, absolute
      // 2^-25 for subnormal scales).
      const float d_err = std::max(d * 0x1p-11f, 0x1p-25f);
      float bound = dtype == DType::q8_0 ? 0.5f * (d + d_err) + 127.0f * d_err : d + d_err + 8.0f * d_err;
      if (dtype == DType::q5_0) bound = d + d_err + 16.0f * d_err;
      if (dtype == DType::q4_1 || dtype == DType::q5_1) {
        // Half a step from the minimum m, plus the top quant (15 / 31) times the fp16 rounding of
        // d and the fp16 rounding of m itself.
        uint16_t mbits;
        std::memcpy(&mbits, q.data() + b * block_bytes + 2, 2);
        const float m_err = std::max(std::fabs(f16_to_f32(mbits)) * 0x1p-11f, 0x1p-25f);
        bound = 0.5f * (d + d_err) + (dtype == DType::q4_1 ? 15.0f : 31.0f) * d_err + m_err;
      }
      for (int i = 0; i < 32; ++i) {
        INFO(dtype_name(dtype) << " block " << b << " element " << i);
        REQUIRE(std::fabs(back[b * 32 + i] - x[b * 32 + i]) <= bound);
      }
    }
  }
}

TEST_CASE("quantize_row converts to the plain dtypes and rejects what it cannot store") {
  const float x[3] = {1.0f, -2.5f, 3.0e-3f};
  uint16_t h[3];
  quantize_row(DType::bf16, x, 3, h);
  CHECK(h[1] == 0xC020);
  quantize_row(DType::f16, x, 3, h);
  CHECK(h[0] == 0x3C00);
  float f[3];
  quantize_row(DType::f32, x, 3, f);
  CHECK(f[2] == x[2]);

  std::vector<float> row(32, 1.0f);
  std::vector<unsigned char> out(34);
  CHECK_THROWS_AS(quantize_row(DType::q8_0, row.data(), 31, out.data()), Error);
  row[3] = NAN;
  CHECK_THROWS_AS(quantize_row(DType::q8_0, row.data(), 32, out.data()), Error);
  row[3] = 5e6f;  // d = 5e6 / 8 does not fit in fp16, 5e6 / 127 does
  CHECK_THROWS_AS(quantize_row(DType::q4_0, row.data(), 32, out.data()), Error);
  CHECK_NOTHROW(quantize_row(DType::q8_0, row.data(), 32, out.data()));
  row[3] = 1e7f;
  CHECK_THROWS_AS(quantize_row(DType::q8_0, row.data(), 32, out.data()), Error);

  // Blocks whose range is a few subnormals: 1 / d overflows to infinity; the quants stay in range
  // and the values come back as the fp16 scale allows (0 here).
  for (DType dtype : {DType::q4_1, DType::q5_0, DType::q5_1}) {
    INFO(dtype_name(dtype));
    float sub[32] = {};
    sub[7] = 30 * 0x1p-149f;
    sub[9] = -20 * 0x1p-149f;
    std::vector<unsigned char> o(dtype_row_bytes(dtype, 32));
    quantize_row(dtype, sub, 32, o.data());
    float back[32];
    row_to_f32({dtype, o.data(), 1, 32}, 0, back);
    for (float v : back) CHECK(std::fabs(v) <= 1e-7f);
  }

  // q4_1 / q5_1 store the minimum itself as fp16; q5_0's scale is max|x| / 16.
  for (DType dtype : {DType::q4_1, DType::q5_0, DType::q5_1}) {
    INFO(dtype_name(dtype));
    std::vector<float> r(64, 1.0f);
    std::vector<unsigned char> o(dtype_row_bytes(dtype, 64));
    CHECK_NOTHROW(quantize_row(dtype, r.data(), 64, o.data()));
    CHECK_THROWS_AS(quantize_row(dtype, r.data(), 48, o.data()), Error);
    r[40] = INFINITY;
    CHECK_THROWS_AS(quantize_row(dtype, r.data(), 64, o.data()), Error);
    r[40] = -NAN;
    CHECK_THROWS_AS(quantize_row(dtype, r.data(), 64, o.data()), Error);
    r[40] = -65504.0f;
    CHECK_NOTHROW(quantize_row(dtype, r.data(), 64, o.data()));
    r[40] = -70000.0f;
    if (dtype == DType::q5_0) {
      CHECK_NOTHROW(quantize_row(dtype, r.data(), 64, o.data()));
      r[40] = 1.1e6f;
    }
    CHECK_THROWS_AS(quantize_row(dtype, r.data(), 64, o.data()), Error);
  }
}

TEST_CASE("f16 conversions") {
  CHECK(f32_to_f16(1.0f) == 0x3C00);
  CHECK(f32_to_f16(-2.0f) == 0xC000);
  CHECK(f32_to_f16(65504.0f) == 0x7BFF);
  CHECK(f32_to_f16(65520.0f) == 0x7C00);  // halfway to 2^16 rounds up to infinity
  CHECK(f32_to_f16(65519.0f) == 0x7BFF);
  CHECK(f32_to_f16(0x1p-24f) == 0x0001);  // smallest subnormal
  CHECK(f32_to_f16(0x1p-25f) == 0x0000);  // a tie rounds to even (zero)
  CHECK(f32_to_f16(0x1.8p-24f) == 0x0002);  // 1.5 ulp: tie to even
  CHECK(f32_to_f16(-0.0f) == 0x8000);
  CHECK(f32_to_f16(1.0f + 0x1p-11f) == 0x3C00);  // tie to even
  CHECK(f32_to_f16(1.0f + 0x1.8p-11f) == 0x3C01);
  CHECK(f32_to_f16(INFINITY) == 0x7C00);
  CHECK(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  CHECK(f16_to_f32(0x0001) == 0x1p-24f);
  CHECK(f16_to_f32(0x7BFF) == 65504.0f);
  CHECK(f16_to_f32(0xFC00) == -INFINITY);
  // Every finite or infinite f16 survives the round trip through f32.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      REQUIRE((h & 0x7C00) == 0x7C00);
    } else {
      REQUIRE(f32_to_f16(f) == h);
    }
  }
}

TEST_CASE("bf16 conversions") {
  CHECK(f32_to_bf16(1.0f) == 0x3F80);
  CHECK(f32_to_bf16(1.0f + 0x1p-8f) == 0x3F80);  // tie rounds to even
  CHECK(f32_to_bf16(1.0f + 0x1.8p-8f) == 0x3F81);
  CHECK(f32_to_bf16(1.0f + 0x1p-7f + 0x1p-8f) == 0x3F82);  // tie from odd rounds up
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  CHECK(bf16_to_f32(0x3F80) == 1.0f);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (!std::isnan(f)) REQUIRE(f32_to_bf16(f) == h);
  }
}
