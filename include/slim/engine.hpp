// slim::Engine: many generations on one model at once, from any number of threads, with
// continuous batching. Each step runs the next token of every decoding request, plus chunks of
// waiting prompts, as one batch: every weight is read once for all of them. A request's tokens and
// logits are bit-identical to what it gives alone (in a Session, through generate()), whatever
// else runs beside it and whatever the thread count.
//
//   slim::Engine engine(model, {.slots = 8});
//   auto handle = engine.submit({.prompt = ids, .options = {.max_tokens = 64}});
//   slim::GenerateResult r = handle.wait();
//
// Slots: each of the `slots` sequences has its own KV cache of `context` positions, kept after its
// request ends. A new request goes to the free slot whose cached tokens share the longest prefix
// with its prompt, and only the rest of the prompt is computed (an editor resends nearly the same
// prefix on every keystroke; a chat client resends the whole conversation). Requests beyond the
// slots wait in a bounded queue.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "slim/generate.hpp"
#include "slim/model.hpp"

namespace slim {

struct EngineOptions {
  int slots = 4;          // sequences decoded together, each with its own KV cache
  int64_t context = 0;    // positions a slot holds; 0 = min(max_position_embeddings, 4096)
  int threads = 0;        // threads of the engine's one thread team; 0 = the model's
  int max_queued = 64;    // requests waiting for a slot; submit() beyond them throws ErrorCode::busy
  // Rows one step runs at most (the decoding tokens and prompt chunks together).
  int64_t batch_tokens = 256;
  // Prompt rows a step adds while other requests decode: a long prompt is prefilled in chunks of
  // this size between their tokens instead of stalling them for its whole length.
  int64_t prompt_rows_while_decoding = 32;
  // What every slot's KV cache holds: f32 or f16 (half the memory and half the bytes attention
  // reads a step; see Session).
  DType kv_type = DType::f32;
};

struct EngineRequest {
  std::vector<int32_t> prompt;  // token ids, run as they are (nothing is added); at least one
  GenerateOptions options = {};
  // Called on the engine's thread with each complete piece of text, as generate() delivers it;
  // returning false stops the request (StopReason::callback). Keep it short: the whole batch
  // waits for it.
  TextCallback on_text = {};
  // Called on the engine's thread with each sampled token and the logits it was sampled from;
  // returning false stops the request like on_text.
  std::function<bool(int32_t token, std::span<const float> logits)> on_token = {};
  // Called on the engine's thread once the request has ended, whatever the reason (its result or
  // error is then ready for GenerationHandle::wait()).
  std::function<void()> on_done = {};
};

// One submitted request: cancel it, or wait for its result.
class GenerationHandle {
 public:
  GenerationHandle() = default;
  // Stops the request at the next step (StopReason::cancelled); its slot is freed. Idempotent.
  void cancel() const noexcept;
  bool done() const noexcept;
  // Blocks until the request has ended; returns its result (text and tokens so far when it was
  // cancelled; a copy) or throws the slim::Error that ended it.
  GenerateResult wait() const;
  // Waits at most `timeout`; true when the request has ended.
  bool wait_for(std::chrono::milliseconds timeout) const;

  struct State;

 private:
  friend class Engine;
  explicit GenerationHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

struct EngineStats {
  int slots = 0;
  int busy_slots = 0;             // slots running a request
  int queued = 0;                 // requests waiting for a slot
  int64_t context = 0;            // positions per slot
  uint64_t requests = 0;          // submitted
  uint64_t requests_done = 0;     // ended, any reason
  uint64_t prompt_tokens = 0;     // of ended and running requests
  uint64_t cached_tokens = 0;     // prompt tokens reused from a slot's cache
  uint64_t generated_tokens = 0;
  uint64_t steps = 0;             // forward passes run
  double busy_seconds = 0;        // time spent in steps
  int64_t kv_positions = 0;       // positions held in all slots' caches
  uint64_t kv_cache_bytes = 0;    // allocated for all slots
};

class Engine {
 public:
  // Allocates every slot's KV cache (checked against Limits::max_kv_cache_bytes like a Session)
  // and starts the scheduler thread. Throws slim::Error(invalid_argument) for options out of range.
  explicit Engine(std::shared_ptr<const Model> model, const EngineOptions& options = {});
  // Cancels every request that has not ended and stops the scheduler.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. Throws slim::Error: invalid_argument for an empty prompt, an id outside the
  // vocabulary or options out of range; context_overflow when the prompt does not fit a slot;
  // busy when max_queued requests are already waiting.
  GenerationHandle submit(EngineRequest request);

  EngineStats stats() const;
  const Model& model() const noexcept;
  int64_t context_length() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace slim
