// Tokenizer::StreamDecoder: decodes a window of the ids pushed since the last point where the
// decoded text was complete (no partial character held back) and shows what the window adds.
// Decoding the window as a continuation (see tok::DecodeFlags) gives the same text the whole
// sequence would, so the pieces join to exactly decode(all ids). (A decoder whose Replace follows
// Fuse could rewrite text already shown, so with one everything comes at finish().)
#include "slim/tokenizer.hpp"
#include "tokenizer/cleanup.hpp"
#include "tokenizer/tokenizer_impl.hpp"

namespace slim {

struct Tokenizer::StreamDecoder::State {
  const Tokenizer::Impl* impl = nullptr;
  bool skip_special = false;
  std::vector<int32_t> window;
  bool at_start = true;
  size_t shown = 0;  // bytes of the window's decoded text already returned
  tok::StreamingCleanup cleanup;

  std::string decode_window(bool final) const {
    std::vector<std::string> tokens;
    tokens.reserve(window.size());
    for (const int32_t id : window) tokens.emplace_back(impl->token(id));
    return impl->decode_tokens(std::move(tokens), at_start, final);
  }

  std::string show(std::string text, bool final) {
    return impl->clean_up_spaces ? cleanup.feed(text, final) : text;
  }
};

Tokenizer::StreamDecoder::StreamDecoder(std::unique_ptr<State> state) : state_(std::move(state)) {}
Tokenizer::StreamDecoder::StreamDecoder(StreamDecoder&&) noexcept = default;
Tokenizer::StreamDecoder& Tokenizer::StreamDecoder::operator=(StreamDecoder&&) noexcept = default;
Tokenizer::StreamDecoder::~StreamDecoder() = default;

std::string Tokenizer::StreamDecoder::push(int32_t id) {
  State& s = *state_;
  // An id without a token (an embedding padded past the vocabulary) decodes to nothing, as
  // transformers' decode skips it.
  if (id < 0 || id >= s.impl->vocab_size) return {};
  if (s.skip_special && s.impl->special[static_cast<size_t>(id)]) return {};
  s.window.push_back(id);
  if (s.impl->decoder && !s.impl->decoder->prefix_stable()) return {};  // all at finish()
  const std::string text = s.decode_window(false);
  std::string piece = text.substr(std::min(s.shown, text.size()));
  s.shown = text.size();
  const bool splittable = !s.impl->decoder || s.impl->decoder->splittable();
  if (splittable && s.decode_window(true) == text) {  // nothing held back: start a new window
    s.window.clear();
    s.at_start = false;
    s.shown = 0;
  }
  return s.show(std::move(piece), false);
}

std::string Tokenizer::StreamDecoder::finish() {
  State& s = *state_;
  const std::string text = s.decode_window(true);
  std::string piece = s.show(text.substr(std::min(s.shown, text.size())), true);
  s.window.clear();
  s.at_start = true;
  s.shown = 0;
  return piece;
}

Tokenizer::StreamDecoder Tokenizer::stream_decoder(bool skip_special_tokens, std::span<const int32_t> context) const {
  auto state = std::make_unique<StreamDecoder::State>();
  state->impl = impl_.get();
  state->skip_special = skip_special_tokens;
  // The context opens the window, its text counted as shown: what is pushed then decodes as it
  // reads after it (a word keeps its leading space).
  for (const int32_t id : context) {
    if (id < 0 || id >= impl_->vocab_size || (skip_special_tokens && impl_->special[static_cast<size_t>(id)])) continue;
    state->window.push_back(id);
  }
  if (!state->window.empty()) state->shown = state->decode_window(false).size();
  return StreamDecoder(std::move(state));
}

}  // namespace slim
