#include <algorithm>

#include "model/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "model/rope.hpp"
#include "model/transformer.hpp"
#include "slim/error.hpp"
#include "slim/model.hpp"

namespace slim {
namespace {

// Prompts are processed in chunks of this many tokens, which bounds the scratch memory; a chunk
// boundary does not change any result.
constexpr int64_t kMaxChunk = 256;
constexpr int64_t kDefaultContext = 4096;

}  // namespace

struct Session::State {
  State(std::shared_ptr<const Model> m, int64_t context)
      : model(std::move(m)),
        cache(model->impl().config.num_layers, model->impl().config.num_kv_heads, context,
              model->impl().config.head_dim),
        rope(make_rope_table(model->impl().rope_inv_freq, context)),
        buffers(model->impl().config, std::min(context, kMaxChunk), context, model->threads()) {}

  std::shared_ptr<const Model> model;
  KvCache cache;
  RopeTable rope;
  ForwardBuffers buffers;
  std::vector<float> logits;
  int64_t position = 0;
};

Session::Session(std::shared_ptr<const Model> model, int64_t context_length) {
  if (!model) throw Error(ErrorCode::invalid_argument, "Session needs a model");
  const int64_t max = model->info().max_context;
  if (context_length < 0) throw Error(ErrorCode::invalid_argument, "context length must be >= 0");
  if (context_length == 0) context_length = std::min(max, kDefaultContext);
  if (context_length > max) {
    throw Error(ErrorCode::invalid_argument, "context length " + std::to_string(context_length) +
                                                 " exceeds the model's max_position_embeddings (" +
                                                 std::to_string(max) + ")");
  }
  state_ = std::make_unique<State>(std::move(model), context_length);
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

std::span<const float> Session::prefill(std::span<const int32_t> tokens, bool all_logits) {
  State& s = *state_;
  const Model::Impl& m = s.model->impl();
  const int64_t vocab = m.config.vocab_size;
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) throw Error(ErrorCode::invalid_argument, "prefill needs at least one token");
  if (s.position + n > s.cache.capacity()) {
    throw Error(ErrorCode::context_overflow, std::to_string(n) + " tokens at position " +
                                                 std::to_string(s.position) + " exceed the context length of " +
                                                 std::to_string(s.cache.capacity()));
  }
  for (int32_t t : tokens) {
    if (t < 0 || t >= vocab) {
      throw Error(ErrorCode::invalid_argument,
                  "token id " + std::to_string(t) + " is outside the vocabulary (size " + std::to_string(vocab) + ")");
    }
  }
  s.logits.resize(static_cast<size_t>((all_logits ? n : 1) * vocab));
  for (int64_t done = 0; done < n;) {
    const int64_t chunk = std::min(n - done, s.buffers.max_tokens);
    // Without all_logits each chunk writes its last row's logits over the previous chunk's.
    float* out = all_logits ? s.logits.data() + done * vocab : s.logits.data();
    forward(m, s.cache, s.rope, s.buffers, tokens.subspan(static_cast<size_t>(done), static_cast<size_t>(chunk)),
            s.position, all_logits, out);
    s.position += chunk;
    done += chunk;
  }
  return s.logits;
}

std::span<const float> Session::decode(int32_t token) { return prefill(std::span<const int32_t>(&token, 1)); }

int64_t Session::position() const noexcept { return state_->position; }
int64_t Session::context_length() const noexcept { return state_->cache.capacity(); }
const Model& Session::model() const noexcept { return *state_->model; }

void Session::truncate(int64_t n) {
  if (n < 0 || n > state_->position) {
    throw Error(ErrorCode::invalid_argument, "cannot truncate to " + std::to_string(n) + " positions; the session holds " +
                                                 std::to_string(state_->position));
  }
  state_->position = n;  // later positions are overwritten before they are read again
}

}  // namespace slim
