#include "slim/generate.hpp"

#include <chrono>

#include "generation.hpp"
#include "slim/error.hpp"
#include "slim/tokenizer.hpp"

namespace slim {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

GenerateResult generate(Session& session, std::string_view prompt, const GenerateOptions& options,
                        const TextCallback& on_text) {
  const Tokenizer& tokenizer = session.model().tokenizer();
  const auto ids = tokenizer.encode(prompt, {.add_special_tokens = session.position() == 0});
  return generate(session, std::span<const int32_t>(ids), options, on_text);
}

GenerateResult generate(Session& session, std::span<const int32_t> prompt_tokens, const GenerateOptions& options,
                        const TextCallback& on_text) {
  Generation generation(session.model(), options, prompt_tokens, on_text);
  const auto start = Clock::now();
  std::span<const float> logits = session.logits();
  if (!prompt_tokens.empty()) logits = session.prefill(prompt_tokens);
  if (logits.empty()) throw Error(ErrorCode::invalid_argument, "generate needs a prompt or a session that has run one");
  const double prompt_seconds = since(start);

  Clock::time_point first{};
  double first_token_seconds = 0;
  while (!generation.done()) {
    const int32_t token = generation.step(logits);
    if (generation.result().tokens.size() == 1) {
      first = Clock::now();
      first_token_seconds = std::chrono::duration<double>(first - start).count();
    }
    // Every sampled token is run, the last one too, so the session holds the whole text.
    if (session.position() < session.context_length()) logits = session.decode(token);
    if (!generation.done() && session.position() >= session.context_length()) generation.stop(StopReason::context_full);
  }
  GenerateResult result = std::move(generation.finish());
  result.prompt_seconds = prompt_seconds;
  result.first_token_seconds = first_token_seconds;
  if (!result.tokens.empty()) result.generate_seconds = since(first);
  return result;
}

}  // namespace slim
