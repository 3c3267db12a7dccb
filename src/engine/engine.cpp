// The Engine's scheduler: one thread owns the slots, their KV caches and the forward buffers, and
// runs one batch a step; submit() and the handles talk to it through a queue and per-request
// state under locks.
#include "slim/engine.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "generation.hpp"
#include "model/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "model/rope.hpp"
#include "model/transformer.hpp"
#include "slim/error.hpp"

namespace slim {

using Clock = std::chrono::steady_clock;

namespace {
double seconds(Clock::time_point from, Clock::time_point to) { return std::chrono::duration<double>(to - from).count(); }
}  // namespace

struct GenerationHandle::State {
  EngineRequest request;
  Clock::time_point submitted = Clock::now();
  std::atomic<bool> cancelled{false};

  mutable std::mutex mutex;
  mutable std::condition_variable ended_cv;
  bool ended = false;
  GenerateResult result;
  std::exception_ptr error;

  void end(GenerateResult r, std::exception_ptr e) {
    {
      std::lock_guard lock(mutex);
      result = std::move(r);
      error = std::move(e);
      ended = true;
    }
    ended_cv.notify_all();
    if (request.on_done) request.on_done();
  }
};

void GenerationHandle::cancel() const noexcept {
  if (state_) state_->cancelled = true;
}

bool GenerationHandle::done() const noexcept {
  if (!state_) return true;
  std::lock_guard lock(state_->mutex);
  return state_->ended;
}

GenerateResult GenerationHandle::wait() const {
  if (!state_) throw Error(ErrorCode::invalid_argument, "GenerationHandle: no request");
  std::unique_lock lock(state_->mutex);
  state_->ended_cv.wait(lock, [&] { return state_->ended; });
  if (state_->error) std::rethrow_exception(state_->error);
  return state_->result;
}

bool GenerationHandle::wait_for(std::chrono::milliseconds timeout) const {
  if (!state_) return true;
  std::unique_lock lock(state_->mutex);
  return state_->ended_cv.wait_for(lock, timeout, [&] { return state_->ended; });
}

namespace {

// A request while it runs in a slot.
struct Running {
  std::shared_ptr<GenerationHandle::State> state;
  std::optional<Generation> generation;
  int64_t prompt_done = 0;  // prompt tokens in the slot's cache (the reused ones included)
  int64_t cached = 0;       // prompt tokens reused from the slot's previous requests
  int32_t pending = -1;     // the sampled token to run next; -1 while the prompt is prefilled
  Clock::time_point admitted, first_token;
};

struct Slot {
  Slot(const ModelConfig& c, int64_t context, DType kv_type) : cache(c, context, kv_type) {}
  KvCache cache;
  std::vector<int32_t> tokens;  // what the cache holds, position by position
  std::optional<Running> running;
  uint64_t last_used = 0;       // the step its last request ended at
};

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

struct Engine::Impl {
  Impl(std::shared_ptr<const Model> m, const EngineOptions& o);
  ~Impl();
  void run();
  void admit(std::shared_ptr<GenerationHandle::State> state);
  void step();
  void finish(Slot& slot, std::exception_ptr error = nullptr);
  bool any_running() const;
  // longrope's table for a forward call that reaches `length` positions (see rope.hpp).
  const RopeTable* rope_for(int64_t length) const {
    const bool long_factors = !rope_long.cos.empty() && rope_uses_long_factors(model->impl().config.rope_scaling, length);
    return long_factors ? &rope_long : &rope;
  }

  std::shared_ptr<const Model> model;
  EngineOptions options;
  kernels::ThreadTeam team;  // the forward passes' threads, the scheduler's thread among them
  int64_t context = 0;
  RopeTable rope, rope_long, rope_local;
  std::vector<Slot> slots;
  ForwardBuffers buffers;
  std::vector<float> logits;
  std::vector<int32_t> batch_tokens;
  std::vector<BatchSequence> batch;
  std::vector<size_t> batch_slots;  // the slot of each batch sequence
  size_t next_prefill = 0;          // round robin start over the prefilling slots

  // The tokenizer's side of grammar masks, built once, by the first submit() with a grammar on
  // its caller's thread (never on the scheduler's, where it would stall every stream).
  std::once_flag vocabulary_once;
  std::optional<TokenVocabulary> vocabulary;
  mutable std::mutex mutex;  // guards queue, closing and stats
  std::condition_variable wake;
  std::deque<std::shared_ptr<GenerationHandle::State>> queue;
  bool closing = false;
  EngineStats stats;
  std::thread thread;  // last: started when everything above exists
};

Engine::Impl::Impl(std::shared_ptr<const Model> m, const EngineOptions& o)
    : model(std::move(m)),
      options(o),
      team(o.threads > 0 ? o.threads : model->threads()),
      context(resolve_context_length(*model, o.context)),
      buffers(model->impl().config, std::max<int64_t>(o.batch_tokens, 1), context, team.size()) {
  const Model::Impl& mi = model->impl();
  rope = make_rope_table(mi.rope_inv_freq, context, mi.rope_attention_factor);
  if (!mi.rope_inv_freq_long.empty()) rope_long = make_rope_table(mi.rope_inv_freq_long, context, mi.rope_attention_factor);
  if (!mi.rope_inv_freq_local.empty()) rope_local = make_rope_table(mi.rope_inv_freq_local, context);
  check_kv_cache_memory(*model, context, static_cast<uint64_t>(o.slots) * model->kv_cache_bytes(context, o.kv_type));
  slots.reserve(static_cast<size_t>(o.slots));
  for (int i = 0; i < o.slots; ++i) slots.emplace_back(mi.config, context, o.kv_type);
  logits.resize(static_cast<size_t>(o.slots * mi.config.vocab_size));
  stats.slots = o.slots;
  stats.context = context;
  stats.kv_cache_bytes = static_cast<uint64_t>(o.slots) * model->kv_cache_bytes(context, o.kv_type);
  thread = std::thread([this] { run(); });
}

Engine::Impl::~Impl() {
  {
    std::lock_guard lock(mutex);
    closing = true;
  }
  wake.notify_all();
  if (thread.joinable()) thread.join();
}

bool Engine::Impl::any_running() const {
  return std::any_of(slots.begin(), slots.end(), [](const Slot& s) { return s.running.has_value(); });
}

// Puts a request into the free slot whose cache shares the longest prefix with its prompt (the
// least recently used among equals) and keeps that prefix.
void Engine::Impl::admit(std::shared_ptr<GenerationHandle::State> state) {
  const std::vector<int32_t>& prompt = state->request.prompt;
  Slot* best = nullptr;
  size_t best_keep = 0;
  for (Slot& slot : slots) {
    if (slot.running) continue;
    // At least the prompt's last token is run, for its logits. A ring buffer that has wrapped can
    // only be kept whole (its early positions are gone) or dropped.
    size_t keep = std::min(common_prefix(slot.tokens, prompt), prompt.size() - 1);
    if (keep < slot.tokens.size() && static_cast<int64_t>(slot.tokens.size()) > slot.cache.smallest_capacity()) keep = 0;
    if (!best || keep > best_keep || (keep == best_keep && slot.last_used < best->last_used)) {
      best = &slot;
      best_keep = keep;
    }
  }
  best->tokens.resize(best_keep);
  Running& r = best->running.emplace();
  r.state = std::move(state);
  r.prompt_done = r.cached = static_cast<int64_t>(best_keep);
  r.admitted = Clock::now();
  std::exception_ptr error;
  try {
    // A request with a grammar went through submit()'s call_once, before the queue's mutex.
    const TokenVocabulary* vocab = r.state->request.options.grammar && vocabulary ? &*vocabulary : nullptr;
    r.generation.emplace(*model, r.state->request.options, prompt, r.state->request.on_text, vocab);
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard lock(mutex);
    ++stats.busy_slots;
    stats.prompt_tokens += prompt.size();
    stats.cached_tokens += best_keep;
  }
  if (error) finish(*best, error);
}

// Ends the slot's request: its result, or the error that ended it.
void Engine::Impl::finish(Slot& slot, std::exception_ptr error) {
  Running& r = *slot.running;
  GenerateResult result;
  if (!error && r.generation) {
    try {
      result = std::move(r.generation->finish());
    } catch (...) {
      error = std::current_exception();
    }
    const Clock::time_point now = Clock::now();
    result.cached_tokens = r.cached;
    if (!result.tokens.empty()) {
      result.prompt_seconds = seconds(r.admitted, r.first_token);
      result.first_token_seconds = seconds(r.state->submitted, r.first_token);
      result.generate_seconds = seconds(r.first_token, now);
    }
  }
  {
    std::lock_guard lock(mutex);
    ++stats.requests_done;
    --stats.busy_slots;
    stats.generated_tokens += result.tokens.size();
  }
  std::shared_ptr<GenerationHandle::State> state = std::move(r.state);
  slot.running.reset();
  slot.last_used = stats.steps;
  state->end(std::move(result), error);
}

void Engine::Impl::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex);
      const auto free_slot = [&] {
        return std::any_of(slots.begin(), slots.end(), [](const Slot& s) { return !s.running; });
      };
      wake.wait(lock, [&] { return closing || any_running() || (!queue.empty() && free_slot()); });
      if (closing) break;
      while (!queue.empty() && free_slot()) {
        auto state = std::move(queue.front());
        queue.pop_front();
        lock.unlock();
        admit(std::move(state));
        lock.lock();
      }
      stats.queued = static_cast<int>(queue.size());
    }
    step();
  }
  // Closing: every request that has not ended is cancelled.
  for (Slot& slot : slots) {
    if (slot.running) {
      if (slot.running->generation) slot.running->generation->stop(StopReason::cancelled);
      finish(slot);
    }
  }
  std::deque<std::shared_ptr<GenerationHandle::State>> left;
  {
    std::lock_guard lock(mutex);
    left.swap(queue);
  }
  for (auto& state : left) {
    GenerateResult result;
    result.prompt_tokens = state->request.prompt;
    result.stop_reason = StopReason::cancelled;
    state->end(std::move(result), nullptr);
  }
}

// One forward pass: the pending token of every decoding request, then prompt chunks within the
// row budget; then a token sampled for every request whose logits came out.
void Engine::Impl::step() {
  const Clock::time_point start = Clock::now();
  batch.clear();
  batch_tokens.clear();
  batch_slots.clear();
  bool decoding = false;
  for (size_t i = 0; i < slots.size(); ++i) {
    Slot& slot = slots[i];
    if (!slot.running) continue;
    Running& r = *slot.running;
    if (r.state->cancelled) {
      r.generation->stop(StopReason::cancelled);
      finish(slot);
      continue;
    }
    if (r.pending < 0) continue;
    const auto pos = static_cast<int64_t>(slot.tokens.size());
    batch.push_back({.cache = &slot.cache, .rope = rope_for(pos + 1), .rope_local = local_rope(rope_local), .pos = pos, .count = 1, .logits = LogitRows::last});
    batch_tokens.push_back(r.pending);
    batch_slots.push_back(i);
    decoding = true;
  }
  // Prompt chunks, the slots taken in turn from a rotating start so that none waits behind others.
  int64_t budget = std::max<int64_t>(options.batch_tokens - static_cast<int64_t>(batch.size()), 0);
  if (decoding) budget = std::min(budget, std::max<int64_t>(options.prompt_rows_while_decoding, 1));
  const size_t start_slot = next_prefill;
  for (size_t k = 0; k < slots.size() && budget > 0; ++k) {
    const size_t i = (start_slot + k) % slots.size();
    Slot& slot = slots[i];
    if (!slot.running || slot.running->pending >= 0) continue;
    Running& r = *slot.running;
    const std::vector<int32_t>& prompt = r.state->request.prompt;
    const int64_t total = static_cast<int64_t>(prompt.size());
    const int64_t count = std::min(total - r.prompt_done, budget);
    // longrope picks its factors from the length the whole prompt reaches, as Session::prefill does.
    batch.push_back({.cache = &slot.cache, .rope = rope_for(total), .rope_local = local_rope(rope_local), .pos = r.prompt_done,
                     .count = count, .logits = r.prompt_done + count == total ? LogitRows::last : LogitRows::none});
    batch_tokens.insert(batch_tokens.end(), prompt.begin() + r.prompt_done, prompt.begin() + r.prompt_done + count);
    batch_slots.push_back(i);
    budget -= count;
    next_prefill = i + 1;
  }
  if (batch.empty()) return;
  const int64_t vocab = model->impl().config.vocab_size;
  try {
    forward(model->impl(), batch_tokens, batch, buffers, logits.data(), team);
  } catch (...) {  // nothing a request sends should get here; if it does, its requests end with it
    const std::exception_ptr error = std::current_exception();
    for (size_t b = 0; b < batch.size(); ++b) {
      Slot& slot = slots[batch_slots[b]];
      slot.tokens.clear();
      if (slot.running) finish(slot, error);
    }
    return;
  }

  int64_t row = 0;
  for (size_t b = 0; b < batch.size(); ++b) {
    Slot& slot = slots[batch_slots[b]];
    Running& r = *slot.running;
    const BatchSequence& seq = batch[b];
    if (r.pending >= 0) {
      slot.tokens.push_back(r.pending);
    } else {
      const std::vector<int32_t>& prompt = r.state->request.prompt;
      slot.tokens.insert(slot.tokens.end(), prompt.begin() + r.prompt_done, prompt.begin() + r.prompt_done + seq.count);
      r.prompt_done += seq.count;
    }
    if (seq.logits == LogitRows::none) continue;
    const std::span<const float> row_logits(logits.data() + row * vocab, static_cast<size_t>(vocab));
    ++row;
    try {
      const int32_t token = r.generation->step(row_logits);
      if (r.generation->result().tokens.size() == 1) r.first_token = Clock::now();
      const auto& on_token = r.state->request.on_token;
      if (on_token && !on_token(token, row_logits)) r.generation->stop(StopReason::callback);
      // As generate() does: a token that fills the context ends the generation (its logits
      // would have no room for another).
      if (!r.generation->done() && static_cast<int64_t>(slot.tokens.size()) + 1 >= context) {
        r.generation->stop(StopReason::context_full);
      }
      if (r.generation->done()) {
        finish(slot);
      } else {
        r.pending = token;
      }
    } catch (...) {
      finish(slot, std::current_exception());
    }
  }
  int64_t positions = 0;
  for (const Slot& slot : slots) positions += static_cast<int64_t>(slot.tokens.size());
  std::lock_guard lock(mutex);
  ++stats.steps;
  stats.busy_seconds += seconds(start, Clock::now());
  stats.kv_positions = positions;
}

Engine::Engine(std::shared_ptr<const Model> model, const EngineOptions& options) {
  if (!model) throw Error(ErrorCode::invalid_argument, "Engine needs a model");
  if (options.slots < 1) throw Error(ErrorCode::invalid_argument, "EngineOptions.slots must be >= 1");
  if (options.threads < 0) throw Error(ErrorCode::invalid_argument, "EngineOptions.threads must be >= 0");
  if (options.max_queued < 0) throw Error(ErrorCode::invalid_argument, "EngineOptions.max_queued must be >= 0");
  if (options.batch_tokens < options.slots) {
    throw Error(ErrorCode::invalid_argument, "EngineOptions.batch_tokens must be >= slots (one decoding row each)");
  }
  if (options.prompt_rows_while_decoding < 1) {
    throw Error(ErrorCode::invalid_argument, "EngineOptions.prompt_rows_while_decoding must be >= 1");
  }
  check_kv_type(options.kv_type, "EngineOptions.kv_type");
  impl_ = std::make_unique<Impl>(std::move(model), options);
}

Engine::~Engine() = default;

GenerationHandle Engine::submit(EngineRequest request) {
  const auto& prompt = request.prompt;
  if (prompt.empty()) throw Error(ErrorCode::invalid_argument, "the prompt has no tokens");
  check_token_ids(*impl_->model, prompt);
  if (static_cast<int64_t>(prompt.size()) > impl_->context) {
    throw Error(ErrorCode::context_overflow, "the prompt has " + std::to_string(prompt.size()) +
                                                 " tokens; the context holds " + std::to_string(impl_->context));
  }
  if (request.options.max_tokens < 0) throw Error(ErrorCode::invalid_argument, "GenerateOptions.max_tokens must be >= 0");
  Sampler check(request.options.sampler);  // throws for sampler options out of range
  if (request.options.grammar && impl_->model->has_tokenizer()) {
    std::call_once(impl_->vocabulary_once, [&] { impl_->vocabulary.emplace(impl_->model->tokenizer()); });
  }
  auto state = std::make_shared<GenerationHandle::State>();
  state->request = std::move(request);
  {
    std::lock_guard lock(impl_->mutex);
    // Requests queued while slots are free are admitted at the next step; the rest wait.
    const int free_slots = impl_->options.slots - impl_->stats.busy_slots;
    if (static_cast<int>(impl_->queue.size()) >= impl_->options.max_queued + free_slots) {
      throw Error(ErrorCode::busy, "the engine's " + std::to_string(impl_->options.max_queued) +
                                       " waiting places are taken; try again later");
    }
    impl_->queue.push_back(state);
    ++impl_->stats.requests;
    impl_->stats.queued = static_cast<int>(impl_->queue.size());
  }
  impl_->wake.notify_one();
  return GenerationHandle(std::move(state));
}

EngineStats Engine::stats() const {
  std::lock_guard lock(impl_->mutex);
  EngineStats s = impl_->stats;
  s.queued = static_cast<int>(impl_->queue.size());
  return s;
}

const Model& Engine::model() const noexcept { return *impl_->model; }
int64_t Engine::context_length() const noexcept { return impl_->context; }

}  // namespace slim
