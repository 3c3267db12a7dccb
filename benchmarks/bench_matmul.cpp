// Matrix x vector (decode, n = 1) and matrix x matrix (prefill, n activation rows) for the weight
// dtypes at the shapes of real models, plus the machine's plain memory read bandwidth measured in
// the same run for comparison.
//
// Shapes are rows x cols = output features x input features: the weight matrix W has `rows` rows
// of `cols` values and y = W x. Counters: GB/s of weight bytes read (each call reads every weight
// once), GFLOP/s = 2 * rows * cols * n per call.
//
// The kernel set is the one matmul() picks; SLIM_KERNELS=xsimd (or scalar, ...) selects another.
// For q8_0 / q4_0 in groups8 the other supported sets that read it run too, as
// "matmul/q4_0@avx2/..." (under avx512_vnni), so one run compares them.
// q8_0 / q4_0 matrices are in the layout the engine stores them in (kernels::preferred_layout());
// where that is not the GGUF block layout, "matmul/q4_0.blocks/..." runs the GGUF layout too.
// Run e.g.: build/benchmarks/bench_matmul --benchmark_filter='2048x8192/.*n:1/'
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/convert.hpp"
#include "kernels/kernels.hpp"

namespace {

using slim::DType;
namespace k = slim::kernels;

struct Shape {
  int64_t rows, cols;
};
constexpr Shape kShapes[] = {{576, 1536}, {1536, 576}, {896, 4864}, {4864, 896}, {2048, 8192}, {4096, 14336}, {151936, 896}};
constexpr DType kDTypes[] = {DType::f32,  DType::bf16, DType::q8_0, DType::q4_0, DType::q4_1,
                             DType::q5_0, DType::q5_1, DType::q4_k, DType::q5_k, DType::q6_k};

struct Free {
  void operator()(void* p) const noexcept { std::free(p); }
};

// The weights of the benchmark running now; built once per (shape, dtype) and replaced when the
// next group starts, so at most one large matrix is alive. Small matrices are replicated to at
// least 256 MiB and the calls cycle through the copies, so every call reads its weights from
// memory as a decode step of a real model does, not from the 32 MiB L3.
struct WeightCache {
  DType dtype = DType::f32;
  k::Layout layout = k::Layout::blocks;
  Shape shape{0, 0};
  std::unique_ptr<void, Free> data;
  size_t bytes = 0;   // one copy
  size_t stride = 0;  // bytes between copies (64-byte aligned)
  size_t copies = 0;
  const void* copy(size_t i) const { return static_cast<const unsigned char*>(data.get()) + (i % copies) * stride; }
};

uint64_t next(uint64_t& s) {  // xorshift64: fast, and speed does not depend on the values
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// 2 MiB-aligned memory advised for transparent huge pages, like the weights the library computes
// at load (src/model/weight_arena.cpp), so the kernels read the memory they read in a model.
void* aligned(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, bytes);
  if (p == nullptr) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
  ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

const WeightCache& weights(DType dtype, k::Layout layout, Shape shape) {
  static WeightCache cache;  // benchmark-only scratch, never shared between threads
  if (cache.data && cache.dtype == dtype && cache.layout == layout && cache.shape.rows == shape.rows &&
      cache.shape.cols == shape.cols) {
    return cache;
  }
  cache.data.reset();
  cache.bytes = slim::dtype_row_bytes(dtype, shape.cols) * static_cast<size_t>(shape.rows);
  cache.stride = (cache.bytes + 63) / 64 * 64;
  cache.copies = std::max<size_t>(1, ((size_t{256} << 20) + cache.bytes - 1) / cache.bytes);
  cache.data.reset(aligned(cache.stride * cache.copies));
  cache.dtype = dtype;
  cache.layout = layout;
  cache.shape = shape;
  uint64_t s = 0x9E3779B97F4A7C15ull;
  auto* bytes = static_cast<unsigned char*>(cache.data.get());
  if (dtype == DType::f32 || dtype == DType::bf16) {
    const size_t count = static_cast<size_t>(shape.rows * shape.cols);
    for (size_t i = 0; i < count; ++i) {
      const float v = static_cast<float>(static_cast<int64_t>(next(s) % 2001) - 1000) * 1e-3f;
      if (dtype == DType::f32) {
        std::memcpy(bytes + i * 4, &v, 4);
      } else {
        const uint16_t h = k::f32_to_bf16(v);
        std::memcpy(bytes + i * 2, &h, 2);
      }
    }
  } else {
    for (size_t i = 0; i < cache.bytes; i += 8) {
      const uint64_t r = next(s);
      std::memcpy(bytes + i, &r, std::min<size_t>(8, cache.bytes - i));
    }
    // Each block's fp16 scales set to 0.01: first in the blocks of 32 (then m = -0.08 in q4_1 /
    // q5_1), d and dmin first in q4_k / q5_k, d last in q6_k.
    const size_t block = slim::dtype_block_bytes(dtype);
    const uint16_t d = k::f32_to_f16(0.01f), m = k::f32_to_f16(-0.08f);
    const bool with_min = dtype == DType::q4_1 || dtype == DType::q5_1;  // fp16 m after d
    const bool k_quant = dtype == DType::q4_k || dtype == DType::q5_k || dtype == DType::q6_k;
    const size_t first = dtype == DType::q6_k ? block - 2 : 0, count = dtype == DType::q4_k || dtype == DType::q5_k ? 2 : 1;
    for (size_t i = 0; i < cache.bytes; i += block) {
      if (k_quant) {
        for (size_t j = 0; j < count; ++j) std::memcpy(bytes + i + first + 2 * j, &d, 2);
        continue;
      }
      std::memcpy(bytes + i, &d, 2);
      if (with_min) std::memcpy(bytes + i + 2, &m, 2);
    }
    if (layout != k::Layout::blocks) {
      const size_t row_bytes = slim::dtype_row_bytes(dtype, shape.cols);
      std::vector<unsigned char> row(row_bytes);
      for (int64_t r = 0; r < shape.rows; ++r) {
        unsigned char* at = bytes + static_cast<size_t>(r) * row_bytes;
        std::memcpy(row.data(), at, row_bytes);
        k::relayout_row(dtype, shape.cols, row.data(), k::Layout::blocks, at, layout);
      }
    }
  }
  for (size_t c = 1; c < cache.copies; ++c) std::memcpy(bytes + c * cache.stride, bytes, cache.bytes);
  return cache;
}

void BM_matmul(benchmark::State& state, DType dtype, k::Layout layout, Shape shape, k::Isa isa) {
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  const WeightCache& w = weights(dtype, layout, shape);
  std::vector<float> x(static_cast<size_t>(n * shape.cols)), y(static_cast<size_t>(n * shape.rows));
  uint64_t s = 12345;
  for (float& v : x) v = static_cast<float>(static_cast<int64_t>(next(s) % 2001) - 1000) * 1e-3f;
  size_t call = 0;
  k::ThreadTeam team(threads);
  for (auto _ : state) {
    const k::MatrixRef m{dtype, w.copy(call++), shape.rows, shape.cols, layout};
    k::matmul_with(isa, m, x.data(), n, y.data(), team);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(w.bytes) * iters / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(shape.rows * shape.cols * n) * iters / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(k::isa_name(isa));
}

// Plain read bandwidth: sum a 256 MiB buffer of 64-bit integers (integer adds vectorize without
// reassociation concerns, so the loop is limited by memory, not by the adds).
void BM_read_bandwidth(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const size_t bytes = size_t{256} << 20;
  const size_t count = bytes / sizeof(uint64_t);
  std::unique_ptr<void, Free> mem(aligned(bytes));
  auto* p = static_cast<uint64_t*>(mem.get());
  k::ThreadTeam team(threads);
  const auto range = [&](int t, int n) { return std::pair<size_t, size_t>{count * size_t(t) / size_t(n), count * size_t(t + 1) / size_t(n)}; };
  team.run(threads, [&](int t, int n) {  // first touch by the thread that reads it
    for (auto [i, end] = range(t, n); i < end; ++i) p[i] = i;
  });
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  for (auto _ : state) {
    team.run(threads, [&](int t, int n) {
      uint64_t sum = 0;
      for (auto [i, end] = range(t, n); i < end; ++i) sum += p[i];
      sums[static_cast<size_t>(t)] = sum;
    });
    benchmark::DoNotOptimize(sums.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes) * static_cast<double>(state.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

// Attention's scores: one query group against `count` keys of head_dim f32 values (one kv head's
// cached keys, in L1/L2). GFLOP/s = 2 * queries * count * cols.
void BM_dot_rows(benchmark::State& state) {
  const int64_t queries = state.range(0), count = state.range(1), cols = state.range(2);
  std::vector<float> q(static_cast<size_t>(queries * cols), 0.01f), rows(static_cast<size_t>(count * cols), 0.5f),
      out(static_cast<size_t>(queries * count), 0.0f);
  for (auto _ : state) {
    k::dot_rows(q.data(), queries, rows.data(), cols, count, cols, out.data(), count);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(queries * count * cols) * static_cast<double>(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(k::active_isa());
}

// Attention's weighted sums of value rows: `count` rows of head_dim f32 values (one kv head's
// cached values, in L1/L2 as attention's blocks keep them) into one output row per head of the
// query group. GFLOP/s = 2 * outputs * count * cols.
void BM_add_weighted_rows(benchmark::State& state) {
  const int64_t outputs = state.range(0), count = state.range(1), cols = state.range(2);
  std::vector<float> w(static_cast<size_t>(outputs * count), 0.01f), rows(static_cast<size_t>(count * cols), 0.5f),
      out(static_cast<size_t>(outputs * cols), 0.0f);
  for (auto _ : state) {
    k::add_weighted_rows(w.data(), count, outputs, rows.data(), count, cols, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(outputs * count * cols) * static_cast<double>(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(k::active_isa());
}

// One decode step's attention of a kv head from memory, as in a model, where a token's weights
// evict the KV cache from L2 and L3: the scores of a query group against `count` keys (dot_rows),
// then the weighted sum of as many values (add_weighted_rows, in attention's blocks of 64
// positions). The heads' keys and values fill 256 MiB and the calls cycle through them. GB/s of
// keys and values read. Row = float (the f32 KV cache) or uint16_t (f16: half the bytes).
template <typename Row>
void BM_attention_rows_dram(benchmark::State& state) {
  const int64_t queries = state.range(0), count = state.range(1), cols = state.range(2), block = 64;
  const size_t head_values = static_cast<size_t>(count * cols);
  const size_t heads = (size_t{256} << 20) / (2 * head_values * sizeof(Row));
  std::unique_ptr<void, Free> mem(aligned(2 * heads * head_values * sizeof(Row)));
  auto* kv = static_cast<Row*>(mem.get());
  for (size_t i = 0; i < 2 * heads * head_values; ++i) {
    const float x = static_cast<float>(i % 7) * 0.01f;
    if constexpr (std::is_same_v<Row, float>) kv[i] = x; else kv[i] = k::f32_to_f16(x);
  }
  std::vector<float> q(static_cast<size_t>(queries * cols), 0.01f), scores(static_cast<size_t>(queries * count)),
      out(static_cast<size_t>(queries * cols));
  size_t head = 0;
  for (auto _ : state) {
    const Row* keys = kv + 2 * head * head_values;
    const Row* values = keys + head_values;
    if constexpr (std::is_same_v<Row, float>) {
      k::dot_rows(q.data(), queries, keys, cols, count, cols, scores.data(), count);
    } else {
      k::dot_rows_f16(q.data(), queries, keys, cols, count, cols, scores.data(), count);
    }
    for (int64_t from = 0; from < count; from += block) {
      const int64_t n = std::min(block, count - from);
      if constexpr (std::is_same_v<Row, float>) {
        k::add_weighted_rows(scores.data() + from, count, queries, values + from * cols, n, cols, out.data());
      } else {
        k::add_weighted_rows_f16(scores.data() + from, count, queries, values + from * cols, n, cols, out.data());
      }
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    head = (head + 1) % heads;
  }
  state.counters["GB/s"] = benchmark::Counter(2.0 * static_cast<double>(head_values * sizeof(Row)) * static_cast<double>(state.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
  state.SetLabel(k::active_isa());
}

// The gated MLP's activations over one token's intermediate row (1536: SmolLM2-135M; 9216:
// Gemma-2-2b), and the soft-cap over a row of logits, in L1: the active kernel set and the
// portable loops (scalar) in the same run.
using Elementwise = void (*)(k::Isa, float*, const float*, int64_t);

void BM_elementwise(benchmark::State& state, Elementwise f, k::Isa isa) {
  const int64_t n = state.range(0);
  std::vector<float> gate(static_cast<size_t>(n)), up(static_cast<size_t>(n), 0.5f);
  for (int64_t i = 0; i < n; ++i) gate[static_cast<size_t>(i)] = static_cast<float>(i % 17) - 8.0f;
  const std::vector<float> start = gate;
  for (auto _ : state) {
    f(isa, gate.data(), up.data(), n);
    benchmark::DoNotOptimize(gate.data());
    benchmark::ClobberMemory();
    state.PauseTiming();
    gate = start;  // keep the inputs in range
    state.ResumeTiming();
  }
  state.counters["values/s"] = benchmark::Counter(static_cast<double>(n * state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(k::isa_name(isa));
}

void register_elementwise() {
  const std::pair<const char*, Elementwise> ops[] = {
      {"silu_mul", [](k::Isa isa, float* g, const float* u, int64_t n) { k::silu_mul_with(isa, g, u, n); }},
      {"gelu_tanh_mul", [](k::Isa isa, float* g, const float* u, int64_t n) { k::gelu_tanh_mul_with(isa, g, u, n); }},
      {"softcap", [](k::Isa isa, float* g, const float*, int64_t n) { k::softcap_with(isa, g, n, 30.0f); }},
  };
  for (const auto& [name, f] : ops) {
    for (k::Isa isa : {k::active_isa_id(), k::Isa::scalar}) {
      const std::string full = std::string(name) + "/" + k::isa_name(isa);
      benchmark::RegisterBenchmark(full.c_str(), BM_elementwise, f, isa)->Arg(1536)->Arg(9216)->ArgName("n");
      if (k::active_isa_id() == k::Isa::scalar) break;
    }
  }
}

int register_all() {
  benchmark::RegisterBenchmark("dot_rows", BM_dot_rows)
      ->ArgNames({"queries", "count", "cols"})->Args({1, 64, 64})->Args({3, 64, 64})->Args({7, 64, 64})
      ->Args({4, 32, 128})->Args({3, 2048, 64});
  benchmark::RegisterBenchmark("add_weighted_rows", BM_add_weighted_rows)
      ->ArgNames({"outputs", "count", "cols"})->Args({1, 64, 64})->Args({3, 64, 64})->Args({7, 64, 64})
      ->Args({4, 32, 128})->Args({3, 2048, 64});
  benchmark::RegisterBenchmark("attention_rows/dram", BM_attention_rows_dram<float>)
      ->ArgNames({"queries", "count", "cols"})->Args({3, 64, 64})->Args({3, 1024, 64})->Args({7, 1024, 64})
      ->Args({4, 1024, 128})->MinTime(0.3);
  benchmark::RegisterBenchmark("attention_rows_f16/dram", BM_attention_rows_dram<uint16_t>)
      ->ArgNames({"queries", "count", "cols"})->Args({3, 64, 64})->Args({3, 1024, 64})->Args({7, 1024, 64})
      ->Args({4, 1024, 128})->MinTime(0.3);
  register_elementwise();
  benchmark::RegisterBenchmark("memory_read/256MiB", BM_read_bandwidth)
      ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->MinTime(0.5)->Unit(benchmark::kMillisecond);
  for (const Shape& shape : kShapes) {
    for (DType dtype : kDTypes) {
      if (shape.cols % slim::dtype_block_elems(dtype) != 0) continue;  // 896 columns are not whole super-blocks
      const std::string name = "matmul/" + std::string(slim::dtype_name(dtype)) + "/" + std::to_string(shape.rows) +
                               "x" + std::to_string(shape.cols);
      const double flops_per_row = 2.0 * static_cast<double>(shape.rows * shape.cols);
      const k::Layout layout = k::preferred_layout(dtype);
      const k::Isa active = k::active_isa_id();
      // n = 512 only where one call stays under ~20 GFLOP (the largest shapes would take seconds
      // a call and add little information).
      const bool big_n = flops_per_row * 512 <= 2e10;
      auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_matmul, dtype, layout, shape, active);
      b->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.3);
      for (int64_t n : {1, 3, 6, 8, 64, 512}) {  // 3, 6, 8: a batch of decoding sequences
        if (n == 512 && !big_n) continue;
        b->Args({n, 1});
        if (n == 1 || n == 8 || n == 512) b->Args({n, 2});
      }
      if (layout != k::Layout::blocks) {  // the GGUF layout, for comparison
        const std::string blocks = "matmul/" + std::string(slim::dtype_name(dtype)) + ".blocks/" +
                                   std::to_string(shape.rows) + "x" + std::to_string(shape.cols);
        benchmark::RegisterBenchmark(blocks.c_str(), BM_matmul, dtype, k::Layout::blocks, shape, active)
            ->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.3)
            ->Args({1, 1})->Args({64, 1});
      }
      // The other supported sets that read groups8 on the same matrix ("matmul/q4_0@avx2/..."), so
      // one run compares them.
      for (k::Isa isa : {k::Isa::avx2, k::Isa::avx512_vnni, k::Isa::avx_vnni}) {
        if (isa == active || layout != k::Layout::groups8 || !k::isa_supported(isa)) continue;
        const std::string other = "matmul/" + std::string(slim::dtype_name(dtype)) + "@" + k::isa_name(isa) + "/" +
                                  std::to_string(shape.rows) + "x" + std::to_string(shape.cols);
        auto* o = benchmark::RegisterBenchmark(other.c_str(), BM_matmul, dtype, layout, shape, isa);
        o->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.3);
        o->Args({1, 1})->Args({64, 1})->Args({1, 2});
        if (big_n) o->Args({512, 1})->Args({512, 2});
      }
    }
  }
  return 0;
}

const int registered = register_all();

}  // namespace
