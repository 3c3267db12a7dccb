// clean_up_tokenization_spaces: transformers' (and tokenizers.js') removal of the space before
// punctuation and English contractions (" ." -> ".", " n't" -> "n't", ...), done after decoding
// when tokenizer_config.json asks for it.
#pragma once

#include <string>
#include <string_view>

namespace slim::tok {

std::string clean_up_tokenization(std::string_view text);

// The streaming form: feed decoded text in pieces; it returns what is safe to show, holding back
// a tail that a pattern might still match across.
class StreamingCleanup {
 public:
  std::string feed(std::string_view text, bool final);

 private:
  std::string held_;
  std::string context_;  // the last (up to 3) raw bytes before held_, already shown
};

}  // namespace slim::tok
