#include <algorithm>
#include <array>
#include <chrono>
#include <thread>

#include "io/safetensors_writer.hpp"
#include "kernels/kernels.hpp"
#include "limits_check.hpp"
#include "model/gguf_model.hpp"
#include "model/gguf_model_writer.hpp"
#include "model/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "model/rope.hpp"
#include "model/weight_sources.hpp"
#include "slim/error.hpp"
#include "tokenizer/gguf_tokenizer.hpp"

namespace slim {
namespace {

constexpr int64_t kDefaultContext = 4096;

constexpr std::array<WeightFormat, 14> kFormats = {
    WeightFormat::as_stored, WeightFormat::f32,  WeightFormat::f16,  WeightFormat::bf16,   WeightFormat::q8_0,
    WeightFormat::q4_0,      WeightFormat::q4_1, WeightFormat::q5_0, WeightFormat::q5_1,   WeightFormat::q4_k,
    WeightFormat::q5_k,      WeightFormat::q6_k, WeightFormat::q4_k_m, WeightFormat::q5_k_m};

int resolve_threads(const LoadOptions& options) {
  if (options.threads < 0) throw Error(ErrorCode::invalid_argument, "LoadOptions.threads must be >= 0");
  return options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

uint64_t total_elements(const ModelConfig& c) {
  uint64_t n = 0;
  for (const MatrixShape& m : matrix_shapes(c)) n += static_cast<uint64_t>(m.rows * m.cols);
  return n;
}

// Everything after the weights: RoPE tables and the public summary.
void finish(Model::Impl& impl) {
  impl.rope_inv_freq = rope_inv_freq(impl.config);
  if (impl.config.rope_scaling.type == RopeScaling::Type::longrope) {
    impl.rope_inv_freq_long = rope_inv_freq(impl.config, /*long_factors=*/true);
  }
  impl.rope_inv_freq_local = rope_inv_freq_local(impl.config);
  impl.rope_attention_factor = rope_attention_factor(impl.config);

  const ModelConfig& c = impl.config;
  ModelInfo& info = impl.info;
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
  info.weight_bytes = weight_bytes_per_token(c, impl.weights);
  info.sliding_window = c.traits.sliding == SlidingPattern::none ? 0 : c.traits.sliding_window;
}

// An unknown tokenizer.ggml.pre gets GPT-2's split, which may cut text differently from the
// model's own tokenizer: worth telling.
void warn_unknown_pre_tokenizer(const io::GgufFile& gguf, const LogCallback& log) {
  if (!log || gguf.string("tokenizer.ggml.model") != "gpt2") return;
  const std::string pre(gguf.string("tokenizer.ggml.pre").value_or(""));
  if (tok::gguf_pre_known(pre)) return;
  log(LogLevel::warning, gguf.path().string() + ": tokenizer.ggml.pre '" + pre +
                             "' is not one slim knows; its text is split as GPT-2's is, which may give other ids than the "
                             "model's own tokenizer");
}

}  // namespace

std::string_view weight_format_name(WeightFormat format) noexcept {
  switch (format) {
    case WeightFormat::as_stored: return "as_stored";
    case WeightFormat::f32: return "f32";
    case WeightFormat::f16: return "f16";
    case WeightFormat::bf16: return "bf16";
    case WeightFormat::q8_0: return "q8_0";
    case WeightFormat::q4_0: return "q4_0";
    case WeightFormat::q4_1: return "q4_1";
    case WeightFormat::q5_0: return "q5_0";
    case WeightFormat::q5_1: return "q5_1";
    case WeightFormat::q4_k: return "q4_k";
    case WeightFormat::q5_k: return "q5_k";
    case WeightFormat::q6_k: return "q6_k";
    case WeightFormat::q4_k_m: return "q4_k_m";
    case WeightFormat::q5_k_m: return "q5_k_m";
  }
  return "?";
}

std::optional<WeightFormat> parse_weight_format(std::string_view name) noexcept {
  for (WeightFormat f : kFormats) {
    if (weight_format_name(f) == name) return f;
  }
  return std::nullopt;
}

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

std::shared_ptr<const Model> Model::load(const std::filesystem::path& path, const LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error(ErrorCode::io, path.string() + ": not a model folder or GGUF file (no such file or directory)");
  }
  // A GGUF file, or a folder without config.json that holds exactly one.
  std::optional<std::filesystem::path> gguf_path;
  if (!std::filesystem::is_directory(path, ec)) {
    if (!io::is_gguf_file(path)) throw Error(ErrorCode::invalid_argument, path.string() + ": not a model folder or GGUF file");
    gguf_path = path;
  } else if (!std::filesystem::exists(path / "config.json", ec)) {
    gguf_path = io::find_gguf(path);
  }
  const auto start = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  impl->threads = resolve_threads(options);
  impl->dir = gguf_path ? *gguf_path : path;
  impl->log = options.log;
  impl->limits = options.limits;
  TensorLookup lookup;
  if (gguf_path) {
    impl->gguf = io::GgufFile::open(*gguf_path, options.use_mmap, options.limits);
    impl->config_json = gguf_config_json(*impl->gguf);
    impl->config = parse_config(impl->config_json, gguf_path->string());
    lookup = gguf_tensor_lookup(*impl->gguf, impl->config);
    warn_unknown_pre_tokenizer(*impl->gguf, impl->log);
  } else {
    const auto config_path = path / "config.json";
    impl->config_json = read_config_file(config_path, options.limits);
    impl->config = parse_config(impl->config_json, config_path.string());
    impl->files = io::WeightFiles::open(path, options.use_mmap, options.limits);
    lookup = [files = &impl->files](const std::string& name) { return files->tensor(name); };
  }
  if (options.weights != WeightFormat::as_stored) {
    check_fits_in_memory(matrix_bytes(impl->config, options.weights, DType::f32), path.string());
  }
  Progress progress(options.progress, total_elements(impl->config));
  auto source = file_source(std::move(lookup), weight_plan(options.weights, impl->config), impl->threads, progress);
  impl->weights = build_weights(impl->config, *source, impl->saved);
  finish(*impl);
  progress.finish();
  if (impl->log) {
    const ModelConfig& c = impl->config;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    impl->log(LogLevel::info, "loaded " + impl->dir.string() + ": " + c.architecture + ", " + std::to_string(c.num_layers) +
                                  " layers, " + std::string(dtype_name(impl->weights.embed.dtype())) + " weights, " +
                                  std::to_string(impl->info.weight_bytes >> 20) + " MiB read a token, " +
                                  kernels::active_isa() + " kernels, " + std::to_string(impl->threads) + " threads, " +
                                  std::to_string(static_cast<int>(ms)) + " ms");
  }
  return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

std::shared_ptr<const Model> Model::random(const std::filesystem::path& config_json, const LoadOptions& options,
                                           uint64_t seed) {
  auto impl = std::make_unique<Impl>();
  impl->threads = resolve_threads(options);
  impl->log = options.log;
  impl->limits = options.limits;
  impl->config_json = read_config_file(config_json, options.limits);
  impl->config = parse_config(impl->config_json, config_json.string());
  check_fits_in_memory(matrix_bytes(impl->config, options.weights, DType::f32),
                       config_json.string() + " in " + std::string(weight_format_name(options.weights)));
  Progress progress(options.progress, total_elements(impl->config));
  auto source = random_source(impl->config, weight_plan(options.weights, impl->config), impl->threads, seed, progress);
  impl->weights = build_weights(impl->config, *source, impl->saved);
  finish(*impl);
  progress.finish();
  return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

void Model::save(const std::filesystem::path& dir, const std::function<void(float)>& progress) const {
  std::error_code ec;
  if (!impl_->dir.empty() && std::filesystem::equivalent(dir, impl_->dir, ec)) {
    throw Error(ErrorCode::invalid_argument, dir.string() + ": cannot save a model into the folder or file it was loaded from");
  }
  if (dir.extension() == ".gguf") {
    write_gguf_model(*this, dir, progress);
    return;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::io, dir.string() + ": cannot create the folder: " + ec.message());
  std::map<std::string, std::string> metadata = {{"format", "pt"}};  // what transformers expects of a plain file
  io::write_safetensors(dir / "model.safetensors", impl_->saved, std::move(metadata), progress);
  save_gguf_tokenizer(*this, dir);
  // The config last: a folder with a config.json is complete. An index from an earlier sharded
  // save would shadow the new file.
  std::filesystem::remove(dir / "model.safetensors.index.json", ec);
  const auto config_path = dir / "config.json";
  std::FILE* f = std::fopen(config_path.c_str(), "wb");
  if (f == nullptr) throw Error(ErrorCode::io, config_path.string() + ": cannot create");
  const size_t n = std::fwrite(impl_->config_json.data(), 1, impl_->config_json.size(), f);
  if (std::fclose(f) != 0 || n != impl_->config_json.size()) throw Error(ErrorCode::io, config_path.string() + ": write failed");
}

const ModelInfo& Model::info() const noexcept { return impl_->info; }
int Model::threads() const noexcept { return impl_->threads; }
const std::filesystem::path& Model::path() const noexcept { return impl_->dir; }
DType Model::weights_dtype() const noexcept { return impl_->weights.embed.dtype(); }

uint64_t Model::kv_cache_bytes(int64_t context_length, DType kv_type) const {
  const int64_t context = resolve_context_length(*this, context_length);
  return slim::kv_cache_bytes(impl_->config, context, kv_type);
}

void check_token_ids(const Model& model, std::span<const int32_t> tokens) {
  const int64_t vocab = model.info().vocab_size;
  for (int32_t t : tokens) {
    if (t < 0 || t >= vocab) {
      throw Error(ErrorCode::invalid_argument,
                  "token id " + std::to_string(t) + " is outside the vocabulary (size " + std::to_string(vocab) + ")");
    }
  }
}

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
