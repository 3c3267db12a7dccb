#include <algorithm>
#include <chrono>
#include <thread>

#include "kernels/kernels.hpp"
#include "limits_check.hpp"
#include "model/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "model/rope.hpp"
#include "slim/error.hpp"

namespace slim {
namespace {

constexpr int64_t kDefaultContext = 4096;

}  // namespace

int64_t resolve_context_length(const Model& model, int64_t context_length) {
  const int64_t max = model.info().max_context;
  if (context_length < 0) throw Error(ErrorCode::invalid_argument, "context length must be >= 0");
  if (context_length == 0) return std::min(max, kDefaultContext);
  if (context_length > max) {
    throw Error(ErrorCode::invalid_argument, "context length " + std::to_string(context_length) +
                                                 " exceeds the model's max_position_embeddings (" +
                                                 std::to_string(max) + ")");
  }
  return context_length;
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<const Model> Model::load(const std::filesystem::path& dir, const LoadOptions& options) {
  if (!std::filesystem::is_directory(dir)) {
    throw Error(ErrorCode::io, dir.string() + ": not a model folder (no such directory)");
  }
  if (options.threads < 0) throw Error(ErrorCode::invalid_argument, "LoadOptions.threads must be >= 0");
  const auto start = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->log = options.log;
  impl->limits = options.limits;
  impl->config = load_config(dir, options.limits);
  impl->files = io::WeightFiles::open(dir, options.use_mmap, options.limits);
  impl->weights = load_weights(impl->config, impl->files);
  impl->rope_inv_freq = rope_inv_freq(impl->config);
  if (impl->config.rope_scaling.type == RopeScaling::Type::longrope) {
    impl->rope_inv_freq_long = rope_inv_freq(impl->config, /*long_factors=*/true);
  }
  impl->rope_attention_factor = rope_attention_factor(impl->config);
  impl->threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  const ModelConfig& c = impl->config;
  ModelInfo& info = impl->info;
  info.architecture = c.architecture;
  info.vocab_size = c.vocab_size;
  info.hidden_size = c.hidden_size;
  info.num_layers = c.num_layers;
  info.num_heads = c.num_heads;
  info.num_kv_heads = c.num_kv_heads;
  info.head_dim = c.head_dim;
  info.max_context = c.max_position_embeddings;
  info.bos_id = c.bos_token_id;
  info.eos_ids = c.eos_token_ids;
  info.weight_bytes = weight_bytes_per_token(c, impl->weights);
  info.sliding_window = c.traits.sliding == SlidingPattern::none ? 0 : c.traits.sliding_window;
  if (impl->log) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    impl->log(LogLevel::info, "loaded " + dir.string() + ": " + c.architecture + ", " + std::to_string(c.num_layers) +
                                  " layers, " + std::to_string(info.weight_bytes >> 20) + " MiB of weights a token, " +
                                  kernels::active_isa() + " kernels, " + std::to_string(impl->threads) + " threads, " +
                                  std::to_string(static_cast<int>(ms)) + " ms");
  }
  return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

const ModelInfo& Model::info() const noexcept { return impl_->info; }
int Model::threads() const noexcept { return impl_->threads; }
const std::filesystem::path& Model::path() const noexcept { return impl_->dir; }

uint64_t Model::kv_cache_bytes(int64_t context_length) const {
  const int64_t context = resolve_context_length(*this, context_length);
  return slim::kv_cache_bytes(impl_->config, context);
}

}  // namespace slim

namespace slim {

void check_kv_cache_memory(const Model& model, int64_t context_length, uint64_t bytes) {
  const uint64_t max = model.impl().limits.max_kv_cache_bytes;
  const std::string what = "KV cache of " + std::to_string(context_length) + " positions x " +
                           std::to_string(model.info().num_layers) + " layers, in bytes,";
  if (max != 0) {
    check_limit(what, bytes, "max_kv_cache_bytes", max);
    return;
  }
  const uint64_t available = available_memory_bytes();
  if (bytes > available) {
    throw Error(ErrorCode::limit_exceeded,
                what + " (" + std::to_string(bytes) + ") exceeds the memory available now (" +
                    std::to_string(available) +
                    " bytes); use a shorter context length, or set Limits::max_kv_cache_bytes in LoadOptions::limits");
  }
}

}  // namespace slim
