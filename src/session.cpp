#include <algorithm>

#include "session_state.hpp"
#include "slim/error.hpp"
#include "slim/model.hpp"

namespace slim {

Session::Session(std::shared_ptr<const Model> model, int64_t context_length, DType kv_type) {
  if (!model) throw Error(ErrorCode::invalid_argument, "Session needs a model");
  const int64_t context = resolve_context_length(*model, context_length);
  check_kv_type(kv_type, "Session");
  check_kv_cache_memory(*model, context, model->kv_cache_bytes(context, kv_type));
  state_ = std::make_unique<State>(std::move(model), context, kv_type);
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
  if (s.position + n > s.cache.context()) {
    throw Error(ErrorCode::context_overflow, std::to_string(n) + " tokens at position " +
                                                 std::to_string(s.position) + " exceed the context length of " +
                                                 std::to_string(s.cache.context()));
  }
  check_token_ids(*s.model, tokens);
  s.logits.resize(static_cast<size_t>((all_logits ? n : 1) * vocab));
  // longrope chooses its factors once for the whole call, from the length the call reaches.
  const RopeTable& rope = rope_uses_long_factors(m.config.rope_scaling, s.position + n) ? s.rope_long : s.rope;
  for (int64_t done = 0; done < n;) {
    const int64_t chunk = std::min(n - done, s.buffers.max_rows);
    const bool last = done + chunk == n;
    const BatchSequence seq{.cache = &s.cache, .rope = &rope, .rope_local = local_rope(s.rope_local), .pos = s.position, .count = chunk,
                            .logits = all_logits ? LogitRows::all : last ? LogitRows::last : LogitRows::none};
    forward(m, tokens.subspan(static_cast<size_t>(done), static_cast<size_t>(chunk)), {&seq, 1}, s.buffers,
            s.logits.data() + (all_logits ? done * vocab : 0), s.team_of(threads()));
    s.position += chunk;
    done += chunk;
  }
  return s.logits;
}

std::span<const float> Session::decode(int32_t token) { return prefill(std::span<const int32_t>(&token, 1)); }

void Session::set_threads(int threads) {
  if (threads < 0) throw Error(ErrorCode::invalid_argument, "Session threads must be >= 0");
  state_->threads = threads;
  state_->buffers.set_threads(this->threads());
}

int Session::threads() const noexcept { return state_->threads > 0 ? state_->threads : state_->model->threads(); }

int64_t Session::position() const noexcept { return state_->position; }
int64_t Session::context_length() const noexcept { return state_->cache.context(); }
uint64_t Session::kv_cache_bytes() const noexcept { return state_->cache.bytes(); }
DType Session::kv_type() const noexcept { return state_->cache.dtype(); }
const Model& Session::model() const noexcept { return *state_->model; }

void Session::truncate(int64_t n) {
  if (n < 0 || n > state_->position) {
    throw Error(ErrorCode::invalid_argument, "cannot truncate to " + std::to_string(n) + " positions; the session holds " +
                                                 std::to_string(state_->position));
  }
  // A ring buffer that has wrapped no longer holds the positions before the window, which going
  // back would need.
  const int64_t ring = state_->cache.smallest_capacity();
  if (n != 0 && n != state_->position && state_->position > ring) {
    throw Error(ErrorCode::invalid_argument,
                "cannot truncate to " + std::to_string(n) + " positions: the sliding-window layers keep only the last " +
                    std::to_string(ring) + " of " + std::to_string(state_->position));
  }
  state_->position = n;  // later positions are overwritten before they are read again
}

}  // namespace slim
