// slim::Model (the weights of a model folder, shared and immutable) and slim::Session (one
// conversation: its KV cache and position). Many sessions may run on one model from many threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slim/dtype.hpp"
#include "slim/limits.hpp"

namespace slim {

class ChatTemplate;
class Tokenizer;

enum class LogLevel { debug, info, warning };
// Receives the library's messages. slim never writes to stdout or stderr itself.
using LogCallback = std::function<void(LogLevel level, const std::string& message)>;
// The element type the weight matrices get at load time (--weights in the programs).
//   as_stored: as the file holds them (f32, bf16, f16, or a saved q8_0 / q4_0 folder).
//   f32, f16, bf16: converted; q8_0, q4_0, q4_1, q5_0, q5_1: quantized to GGUF-compatible blocks
//   of 32 (see dtype.hpp); q4_k, q5_k, q6_k: to GGUF's K-quant super-blocks of 256, as
//   llama-quantize makes them; q4_k_m, q5_k_m: llama-quantize's Q4_K_M / Q5_K_M mixes, q4_k /
//   q5_k with q6_k for the output head and for v_proj / down_proj in the layers it picks (the
//   first and last eighth and every third between), Phi-3's fused qkv in q5_k / q6_k, Mixtral's
//   k / v in q8_0, MoE routers as stored.
// Every matrix follows it: attention and MLP projections, MoE experts and routers, Phi-3's fused
// matrices, the embedding table and the output head (a tied head shares the embedding's).
// Norm weights and biases always stay f32. A matrix whose rows are not a multiple of the block (32
// values, 256 for the K-quants) cannot be block-quantized: a K-quant falls back as llama-quantize's
// does (q4_k to q5_0, q5_k to q5_1, q6_k to q8_0), and a row not whole blocks of 32 either keeps
// its stored type (f32 for Model::random). A matrix already in the wanted type is never re-quantized (q8_0 / q4_0 rows may
// be regrouped into the layout the CPU's kernels read fastest, a copy).
enum class WeightFormat : uint8_t { as_stored, f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m, q5_k_m };

// "as_stored", "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k",
// "q4_k_m", "q5_k_m".
std::string_view weight_format_name(WeightFormat format) noexcept;
// The format of one of those names; nullopt for any other string.
std::optional<WeightFormat> parse_weight_format(std::string_view name) noexcept;

struct LoadOptions {
  int threads = 0;        // threads for each forward pass and for quantizing; 0 = hardware threads
  bool use_mmap = true;   // map weights files instead of reading them into memory
  LogCallback log = {};   // this model's messages (what was loaded, how, how fast); none if empty
  Limits limits = {};     // bounds on the files, tokenizer, chat template and sessions (limits.hpp)
  WeightFormat weights = WeightFormat::as_stored;
  // Called on the loading thread with the fraction done (0 to 1, increasing, 1 at the end) while
  // the weights are read, converted or generated. May be empty. Exceptions it throws propagate.
  std::function<void(float fraction)> progress = nullptr;
};

struct ModelInfo {
  std::string architecture;       // e.g. "LlamaForCausalLM"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_context = 0;        // max_position_embeddings
  std::optional<int32_t> bos_id;  // from config.json
  std::vector<int32_t> eos_ids;
  uint64_t weight_bytes = 0;      // bytes of weights a decoded token reads (MoE: top_k experts)
  int64_t sliding_window = 0;     // positions a sliding-window layer attends to; 0 = none
};

class Model {
 public:
  // Loads a Hugging Face model folder (config.json + model.safetensors or its sharded index), or a
  // GGUF file, or a folder without config.json that holds exactly one (docs/gguf.md; path() is
  // then that file). Throws slim::Error naming the file and field (or GGUF key or tensor) at fault.
  static std::shared_ptr<const Model> load(const std::filesystem::path& model_dir, const LoadOptions& options = {});
  // A model of exactly the shape that config_json describes, with seeded random weights generated
  // row by row directly in options.weights (as_stored = f32): for benchmarks and tests. Norm
  // weights are near 1 and matrices small (uniform within ±1/sqrt(columns)) so activations stay
  // finite. The same seed gives the same values for any thread count. Before allocating, the size
  // is checked: weights larger than this machine's physical memory throw
  // slim::Error(limit_exceeded).
  static std::shared_ptr<const Model> random(const std::filesystem::path& config_json, const LoadOptions& options = {},
                                             uint64_t seed = 0);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelInfo& info() const noexcept;
  int threads() const noexcept;
  const std::filesystem::path& path() const noexcept;

  // Whether the folder has a tokenizer.json (a GGUF file: tokenizer.ggml.* keys).
  bool has_tokenizer() const;
  // The folder's tokenizer (tokenizer.json + tokenizer_config.json; a GGUF file's from its keys),
  // loaded on first use, once,
  // thread-safely. Throws slim::Error when the folder has none or it is malformed.
  const Tokenizer& tokenizer() const;
  // The folder's chat template (tokenizer_config.json's chat_template, or the family's built-in
  // one; see ChatTemplate::load), loaded on first use like tokenizer().
  const ChatTemplate& chat_template() const;
  // The type of the weight matrices (q4_0, ...; the embedding table's when they are mixed).
  DType weights_dtype() const noexcept;
  // Writes config.json and model.safetensors into `dir` (created if needed) holding the weights as
  // they are in memory: a quantized model is saved as U8 blocks with the metadata that lets
  // Model::load map it back without re-quantizing (docs/quantized_format.md). Other files of the
  // model folder (tokenizer, ...) are not copied. `dir` may not be the folder the model was loaded
  // from. progress, when set, gets the fraction written.
  // A path ending in .gguf gets one GGUF file instead, as llama.cpp's converter writes it: the
  // hyperparameters, the weights in their type in memory (f32, f16, bf16, q8_0, q4_0), the
  // tokenizer and chat template (docs/gguf.md). Llama, Qwen2, Gemma, Gemma 2 and Phi-3 only; other
  // architectures throw slim::Error(unsupported) naming them.
  void save(const std::filesystem::path& dir, const std::function<void(float fraction)>& progress = {}) const;
  // Bytes of the KV cache a Session(model, context_length) allocates, known before allocating it
  // (context_length 0 = the Session default). Sliding-window layers hold at most sliding_window
  // positions whatever the context; global layers hold all of them. Throws like Session would for
  // an invalid context length. kv_type: the cache's element type, f32 or f16 (Session's).
  uint64_t kv_cache_bytes(int64_t context_length, DType kv_type = DType::f32) const;

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Session {
 public:
  // context_length 0 = min(model's max_position_embeddings, 4096). kv_type: what the KV cache
  // holds, f32 (exactly what transformers attends over) or f16 (half the memory, and half the
  // bytes attention reads a token at long contexts; logits move by about f16's rounding of the
  // keys and values, 1e-3 relative). Any other type throws slim::Error(invalid_argument).
  explicit Session(std::shared_ptr<const Model> model, int64_t context_length = 0, DType kv_type = DType::f32);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // Runs the tokens at the current position and advances it. Returns the logits of the last token
  // (vocab_size values), or with all_logits those of every token (tokens.size() rows). The span is
  // valid until the next call. Throws slim::Error(context_overflow) when the tokens do not fit and
  // slim::Error(invalid_argument) for an id outside the vocabulary; the session is unchanged then.
  std::span<const float> prefill(std::span<const int32_t> tokens, bool all_logits = false);
  // One token: prefill({token}).
  std::span<const float> decode(int32_t token);

  // The logits of the newest token run (vocab_size values); empty before the first call.
  std::span<const float> logits() const noexcept;

  // Saves the position, the KV cache and the newest logits, so that restore_state() continues
  // exactly where this session is (format: docs/api.md). The state names the model's shape and
  // is checked against it on restore.
  std::vector<uint8_t> save_state() const;
  void save_state(const std::filesystem::path& file) const;
  // Throws slim::Error(invalid_format) for damaged bytes, (invalid_argument) for the state of a
  // model of another shape or one this session's context cannot hold; the session is unchanged
  // then.
  void restore_state(std::span<const uint8_t> state);
  void restore_state(const std::filesystem::path& file);
  // Threads this session's forward passes use: 0 = the model's (LoadOptions.threads). Results are
  // bit-identical for any count.
  void set_threads(int threads);
  int threads() const noexcept;

  int64_t position() const noexcept;
  int64_t context_length() const noexcept;
  // Bytes of this session's KV cache (Model::kv_cache_bytes(context_length(), kv_type())).
  uint64_t kv_cache_bytes() const noexcept;
  DType kv_type() const noexcept;
  // Forgets everything after the first n positions (n <= position()). A model with sliding-window
  // layers keeps only the last window positions there, so once position() exceeds the window,
  // only truncate(position()) and truncate(0) are possible; other values throw
  // slim::Error(invalid_argument) and leave the session unchanged.
  void truncate(int64_t n);
  void reset() { truncate(0); }
  const Model& model() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace slim
