#include "slim/generate.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "slim/error.hpp"
#include "slim/tokenizer.hpp"

namespace slim {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Holds back text that might be the start of a stop string, and finds stop strings that span
// several tokens.
class StopMatcher {
 public:
  explicit StopMatcher(const std::vector<std::string>& stops) : stops_(stops) {}

  // Adds text; returns what can be delivered now. Sets stopped() when a stop string appeared.
  std::string push(std::string_view text) {
    pending_ += text;
    size_t cut = std::string::npos;
    for (const auto& s : stops_) {
      if (s.empty()) continue;
      const size_t at = pending_.find(s);
      if (at != std::string::npos) cut = std::min(cut, at);
    }
    if (cut != std::string::npos) {
      stopped_ = true;
      std::string out = pending_.substr(0, cut);
      pending_.clear();
      return out;
    }
    // Keep the longest tail that is a prefix of some stop string.
    size_t keep = 0;
    for (const auto& s : stops_) {
      for (size_t n = std::min(s.size() - (s.empty() ? 0 : 1), pending_.size()); n > keep; --n) {
        if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
          keep = n;
          break;
        }
      }
    }
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
  }
  std::string finish() { return std::exchange(pending_, {}); }
  bool stopped() const { return stopped_; }

 private:
  const std::vector<std::string>& stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace

GenerateResult generate(Session& session, std::string_view prompt, const GenerateOptions& options,
                        const TextCallback& on_text) {
  const Tokenizer& tokenizer = session.model().tokenizer();
  const auto ids = tokenizer.encode(prompt, {.add_special_tokens = session.position() == 0});
  return generate(session, std::span<const int32_t>(ids), options, on_text);
}

GenerateResult generate(Session& session, std::span<const int32_t> prompt_tokens, const GenerateOptions& options,
                        const TextCallback& on_text) {
  if (options.max_tokens < 0) throw Error(ErrorCode::invalid_argument, "GenerateOptions.max_tokens must be >= 0");
  const Model& model = session.model();
  const Tokenizer* tokenizer = model.has_tokenizer() ? &model.tokenizer() : nullptr;
  Sampler sampler(options.sampler);
  std::vector<int32_t> eos = model.info().eos_ids;
  if (tokenizer && tokenizer->eos_id()) eos.push_back(*tokenizer->eos_id());

  GenerateResult result;
  result.prompt_tokens.assign(prompt_tokens.begin(), prompt_tokens.end());
  const auto start = Clock::now();
  std::span<const float> logits = session.logits();
  if (!prompt_tokens.empty()) logits = session.prefill(prompt_tokens);
  if (logits.empty()) throw Error(ErrorCode::invalid_argument, "generate needs a prompt or a session that has run one");
  result.prompt_seconds = since(start);
  for (int32_t t : prompt_tokens) sampler.accept(t);

  std::optional<Tokenizer::StreamDecoder> stream;
  if (tokenizer) stream = tokenizer->stream_decoder(/*skip_special_tokens=*/true);
  StopMatcher stops(options.stop);
  auto deliver = [&](const std::string& text) {
    if (text.empty()) return true;
    result.text += text;
    return !on_text || on_text(text);
  };

  result.stop_reason = StopReason::max_tokens;
  Clock::time_point first{};
  while (static_cast<int>(result.tokens.size()) < options.max_tokens) {
    const int32_t token = sampler.sample(logits);
    if (result.tokens.empty()) {
      first = Clock::now();
      result.first_token_seconds = std::chrono::duration<double>(first - start).count();
    }
    result.tokens.push_back(token);
    const bool is_eos = options.stop_at_eos && std::find(eos.begin(), eos.end(), token) != eos.end();
    if (session.position() < session.context_length()) logits = session.decode(token);
    if (is_eos) {
      result.stop_reason = StopReason::eos;
      break;
    }
    if (stream && !deliver(stops.push(stream->push(token)))) {
      result.stop_reason = StopReason::callback;
      break;
    }
    if (stops.stopped()) {
      result.stop_reason = StopReason::stop_string;
      break;
    }
    if (session.position() >= session.context_length()) {
      result.stop_reason = StopReason::context_full;
      break;
    }
  }
  if (stream && result.stop_reason != StopReason::callback && !stops.stopped()) {
    const std::string rest = stops.push(stream->finish());
    if (stops.stopped()) {
      result.stop_reason = StopReason::stop_string;
      deliver(rest);
    } else {
      deliver(rest + stops.finish());
    }
  }
  if (!result.tokens.empty()) result.generate_seconds = since(first);
  return result;
}

}  // namespace slim
