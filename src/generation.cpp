#include "generation.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "slim/error.hpp"

namespace slim {

std::string StopMatcher::push(std::string_view text) {
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

Generation::Generation(const Model& model, const GenerateOptions& options, std::span<const int32_t> prompt,
                       TextCallback on_text, const TokenVocabulary* vocabulary)
    : options_(options), sampler_(options.sampler), on_text_(std::move(on_text)), stops_(options.stop) {
  if (options.max_tokens < 0) throw Error(ErrorCode::invalid_argument, "GenerateOptions.max_tokens must be >= 0");
  tokenizer_ = model.has_tokenizer() ? &model.tokenizer() : nullptr;
  eos_ = model.info().eos_ids;
  if (tokenizer_ && tokenizer_->eos_id()) eos_.push_back(*tokenizer_->eos_id());
  sample_limit_ = static_cast<size_t>(model.info().vocab_size);
  if (tokenizer_) {
    sample_limit_ = std::min(sample_limit_, static_cast<size_t>(tokenizer_->vocab_size()));
    // A few ids of context are enough for the decoders to know a word continues the text.
    const size_t context = options.text_continues_prompt ? std::min<size_t>(prompt.size(), 8) : 0;
    stream_.emplace(tokenizer_->stream_decoder(/*skip_special_tokens=*/true, prompt.last(context)));
  }
  if (options.grammar) {
    if (!tokenizer_) throw Error(ErrorCode::invalid_argument, "GenerateOptions.grammar needs a model with a tokenizer");
    std::vector<int32_t> eos = options.stop_at_eos ? eos_ : std::vector<int32_t>{};
    if (vocabulary) {
      grammar_.emplace(*options.grammar, *vocabulary, std::move(eos));
    } else {
      grammar_.emplace(*options.grammar, *tokenizer_, std::move(eos));
    }
  }
  result_.prompt_tokens.assign(prompt.begin(), prompt.end());
  for (int32_t t : prompt) sampler_.accept(t);
}

bool Generation::deliver(const std::string& text) {
  if (text.empty()) return true;
  result_.text += text;
  return !on_text_ || on_text_(text);
}

int32_t Generation::step(std::span<const float> logits) {
  if (logits.empty()) throw Error(ErrorCode::invalid_argument, "generation needs the logits of a prompt");
  std::span<const float> row = logits.first(std::min(sample_limit_, logits.size()));
  if (grammar_) {  // the mask comes first: disallowed ids get -inf before any other step
    const auto mask = grammar_->mask();
    masked_.assign(row.size(), -std::numeric_limits<float>::infinity());
    bool any = false;
    for (size_t w = 0; w < mask.size(); ++w) {
      for (uint64_t bits = mask[w]; bits; bits &= bits - 1) {
        const size_t id = w * 64 + static_cast<size_t>(__builtin_ctzll(bits));
        if (id < row.size()) masked_[id] = row[id], any = true;
      }
    }
    if (!any) {
      throw Error(ErrorCode::invalid_argument, "the grammar allows no token of this vocabulary here");
    }
    row = masked_;
  }
  const int32_t token = sampler_.sample(row);
  result_.tokens.push_back(token);
  if (grammar_ && !grammar_->accept_token(token)) {
    throw Error(ErrorCode::invalid_argument, "sampled token " + std::to_string(token) + " is outside the grammar");
  }
  if (options_.stop_at_eos && std::find(eos_.begin(), eos_.end(), token) != eos_.end()) {
    result_.stop_reason = StopReason::eos;
    ended_ = true;
  } else if (stream_ && !deliver(stops_.push(stream_->push(token)))) {
    result_.stop_reason = StopReason::callback;
    ended_ = true;
  } else if (stops_.stopped()) {
    result_.stop_reason = StopReason::stop_string;
    ended_ = true;
  } else if (grammar_ && grammar_->is_complete() && !grammar_->can_continue()) {
    result_.stop_reason = StopReason::grammar;
    ended_ = true;
  }
  return token;
}

void Generation::stop(StopReason reason) {
  if (ended_) return;
  result_.stop_reason = reason;
  ended_ = true;
}

bool Generation::done() const {
  return ended_ || static_cast<int>(result_.tokens.size()) >= options_.max_tokens;
}

GenerateResult& Generation::finish() {
  if (!ended_) result_.stop_reason = StopReason::max_tokens;
  if (stream_ && result_.stop_reason != StopReason::callback && !stops_.stopped()) {
    const std::string rest = stops_.push(stream_->finish());
    if (stops_.stopped()) {
      result_.stop_reason = StopReason::stop_string;
      deliver(rest);
    } else {
      deliver(rest + stops_.finish());
    }
  }
  return result_;
}

}  // namespace slim
