#include "model/weight_sources.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "kernels/kernels.hpp"
#include "model/weight_arena.hpp"
#include "slim/error.hpp"

namespace slim {
namespace {

std::string shape_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void check_shape(const std::string& name, const Tensor& t, std::initializer_list<int64_t> want) {
  std::span<const int64_t> w(want.begin(), want.size());
  if (!std::equal(t.shape().begin(), t.shape().end(), w.begin(), w.end())) {
    throw Error(ErrorCode::invalid_format, "tensor '" + name + "' has shape " + shape_string(t.shape()) +
                                               " but the config implies " + shape_string(w));
  }
}

// A matrix to fill row by row, in out's dtype and in kernels::preferred_layout() of it: from
// make_row(r, f32 buffer), quantized or converted, or, where make_row is empty, from `same` (the
// same dtype in GGUF blocks, which only needs regrouping).
struct FillJob {
  Tensor out;
  unsigned char* dest;  // out's data
  std::string name;
  std::function<void(int64_t row, float* values)> make_row;
  Tensor same;
};

// Fills every job's rows in one thread team: work items of about 64K values handed out
// dynamically, so a thread whose core is taken by another process holds nobody up, and a whole
// model costs one team start rather than one per matrix. Progress is reported from the loading
// thread (the team's thread 0).
void run_fill_jobs(const std::vector<FillJob>& jobs, int threads, Progress& progress) {
  struct Item {
    size_t job;
    int64_t first, last;
  };
  std::vector<Item> items;
  uint64_t total = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const int64_t rows = jobs[j].out.dim(0), cols = jobs[j].out.dim(1);
    const int64_t step = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(cols, 1));
    for (int64_t r = 0; r < rows; r += step) items.push_back({j, r, std::min(rows, r + step)});
    total += static_cast<uint64_t>(rows * cols);
  }
  const uint64_t base = progress.done();
  std::atomic<uint64_t> done{0};
  std::atomic<size_t> next{0};  // the next item to fill
  std::mutex error_mutex;
  std::string error;  // the first row that failed, named
  // A team for this load only: its threads end with it.
  kernels::ThreadTeam team(total >= (uint64_t{1} << 18) ? std::max(threads, 1) : 1);
  team.run(team.size(), [&](int thread, int) {
    std::vector<float> values;
    std::vector<unsigned char> blocks;  // a quantized row before regrouping
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < items.size();) {
      const FillJob& job = jobs[items[i].job];
      const DType dtype = job.out.dtype();
      const int64_t cols = job.out.dim(1);
      const size_t row_bytes = dtype_row_bytes(dtype, cols);
      const kernels::Layout layout = kernels::preferred_layout(dtype);
      values.resize(static_cast<size_t>(cols));
      blocks.resize(row_bytes);
      for (int64_t r = items[i].first; r < items[i].last; ++r) {
        unsigned char* dest = job.dest + static_cast<size_t>(r) * row_bytes;
        try {
          if (!job.make_row) {
            const auto* src = static_cast<const unsigned char*>(job.same.data()) + static_cast<size_t>(r) * row_bytes;
            kernels::relayout_row(dtype, cols, src, kernels::Layout::blocks, dest, layout);
            continue;
          }
          job.make_row(r, values.data());
          if (layout == kernels::Layout::blocks) {
            kernels::quantize_row(dtype, values.data(), cols, dest);
          } else {
            kernels::quantize_row(dtype, values.data(), cols, blocks.data());
            kernels::relayout_row(dtype, cols, blocks.data(), kernels::Layout::blocks, dest, layout);
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(error_mutex);
          if (error.empty()) error = "tensor '" + job.name + "' row " + std::to_string(r) + ": " + e.what();
          break;
        }
      }
      const uint64_t now = done += static_cast<uint64_t>((items[i].last - items[i].first) * cols);
      if (thread == 0) progress.advance(base + now - progress.done());
    }
  });
  if (!error.empty()) throw Error(ErrorCode::invalid_format, error);
  progress.advance(base + total - progress.done());
}

class FileSource final : public TensorSource {
 public:
  FileSource(TensorLookup lookup, WeightPlan plan, int threads, Progress& progress)
      : lookup_(std::move(lookup)), plan_(plan), threads_(threads), progress_(progress) {}

  Tensor matrix(const std::string& name, int64_t rows, int64_t cols) override {
    Tensor t = lookup_(name);
    check_shape(name, t, {rows, cols});
    const DType target = plan_.dtype(name, t.dtype(), cols);
    // A saved q4_0 folder is never re-quantized: used in place, or regrouped where the kernels
    // read another layout than the file's GGUF blocks.
    if (t.dtype() == target && kernels::preferred_layout(target) == kernels::Layout::blocks) {
      progress_.advance(static_cast<uint64_t>(rows * cols));
      return t;
    }
    Tensor out = arena_.matrix(target, rows, cols);
    // The job keeps t (a view of the mapping, or an aligned copy) alive until finish().
    FillJob job{out, static_cast<unsigned char*>(out.mutable_data()), name, {}, {}};
    if (t.dtype() == target) {
      job.same = t;
    } else {
      job.make_row = [t, rows, cols](int64_t r, float* row) { kernels::row_to_f32({t.dtype(), t.data(), rows, cols}, r, row); };
    }
    jobs_.push_back(std::move(job));
    return out;
  }

  void finish() override {
    run_fill_jobs(jobs_, threads_, progress_);
    jobs_.clear();
  }

  Tensor vector(const std::string& name, int64_t n, bool) override {
    Tensor t = lookup_(name);
    check_shape(name, t, {n});
    if (t.dtype() == DType::f32 && t.owns_memory()) return t;
    Tensor out = Tensor::zeros(DType::f32, {n});
    kernels::row_to_f32({t.dtype(), t.data(), 1, n}, 0, out.mutable_data_as<float>());
    return out;
  }

 private:
  TensorLookup lookup_;
  WeightPlan plan_;
  int threads_;
  Progress& progress_;
  WeightArena arena_;
  std::vector<FillJob> jobs_;
};

// Seeded values: each row from its own generator (seed, tensor name, row), so the values do not
// depend on the thread count or the order tensors are built in.
uint64_t splitmix64(uint64_t& state) {
  // Steele, Lea, Flood: "Fast splittable pseudorandom number generators" (SplitMix64 constants).
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// n values uniform in [-scale, scale).
void uniform_row(uint64_t stream, int64_t row, float scale, float* out, int64_t n) {
  uint64_t state = stream ^ (static_cast<uint64_t>(row) * 0xD1B54A32D192ED03ull);
  const float unit = scale / 8388608.0f;  // 2^23: 24 random bits -> [-1, 1)
  int64_t i = 0;
  for (; i + 1 < n; i += 2) {
    const uint64_t x = splitmix64(state);
    out[i] = static_cast<float>(static_cast<int32_t>(x >> 40) - 8388608) * unit;
    out[i + 1] = static_cast<float>(static_cast<int32_t>((x >> 8) & 0xFFFFFF) - 8388608) * unit;
  }
  if (i < n) out[i] = static_cast<float>(static_cast<int32_t>(splitmix64(state) >> 40) - 8388608) * unit;
}

class RandomSource final : public TensorSource {
 public:
  RandomSource(const ModelConfig& config, WeightPlan plan, int threads, uint64_t seed, Progress& progress)
      : norm_adds_one_(config.traits.norm_adds_one), plan_(plan), threads_(threads), seed_(seed), progress_(progress) {}

  Tensor matrix(const std::string& name, int64_t rows, int64_t cols) override {
    Tensor out = arena_.matrix(plan_.dtype(name, DType::f32, cols), rows, cols);
    const uint64_t stream = seed_ ^ fnv1a(name);
    // Uniform within ±1/sqrt(cols): a matmul then keeps its activations' scale (Glorot-like).
    const float scale = 1.0f / std::sqrt(static_cast<float>(cols));
    jobs_.push_back({out, static_cast<unsigned char*>(out.mutable_data()), name, [stream, scale, cols](int64_t r, float* row) { uniform_row(stream, r, scale, row, cols); }, {}});
    return out;
  }

  void finish() override {
    run_fill_jobs(jobs_, threads_, progress_);
    jobs_.clear();
  }

  // Norm weights near 1 (Gemma stores weight - 1), biases small.
  Tensor vector(const std::string& name, int64_t n, bool is_norm) override {
    Tensor out = Tensor::zeros(DType::f32, {n});
    float* v = out.mutable_data_as<float>();
    uniform_row(seed_ ^ fnv1a(name), 0, is_norm ? 0.1f : 0.02f, v, n);
    if (is_norm && !norm_adds_one_) {
      for (int64_t i = 0; i < n; ++i) v[i] += 1.0f;
    }
    return out;
  }

 private:
  bool norm_adds_one_;
  WeightPlan plan_;
  int threads_;
  uint64_t seed_;
  Progress& progress_;
  WeightArena arena_;
  std::vector<FillJob> jobs_;
};

}  // namespace

uint64_t matrix_bytes(const ModelConfig& config, WeightFormat format, DType stored) {
  uint64_t total = 0;
  for (const MatrixShape& m : matrix_shapes(config)) {
    total += static_cast<uint64_t>(m.rows) * dtype_row_bytes(target_dtype(format, stored, m.cols), m.cols);
  }
  return total;
}

void check_fits_in_memory(uint64_t bytes, const std::string& what) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return;  // unknown: let the allocation decide
  const uint64_t physical = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
  if (bytes > physical) {
    auto gb = [](uint64_t b) { return std::to_string(static_cast<double>(b) / 1e9).substr(0, 5); };
    throw Error(ErrorCode::limit_exceeded, what + " needs " + gb(bytes) + " GB of weights but this machine has " +
                                               gb(physical) + " GB of memory");
  }
}

void Progress::advance(uint64_t elements) {
  done_ += elements;
  if (callback_ && total_ > 0) {
    callback_(static_cast<float>(std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_))));
  }
}

std::unique_ptr<TensorSource> file_source(TensorLookup lookup, WeightPlan plan, int threads, Progress& progress) {
  return std::make_unique<FileSource>(std::move(lookup), plan, threads, progress);
}

std::unique_ptr<TensorSource> random_source(const ModelConfig& config, WeightPlan plan, int threads, uint64_t seed,
                                            Progress& progress) {
  return std::make_unique<RandomSource>(config, plan, threads, seed, progress);
}

}  // namespace slim
