// Decoders (tokenizer.json "decoder"): ByteLevel, ByteFallback, Replace, Fuse, Strip, Metaspace and
// Sequence, working like Hugging Face's decode_chain on the list of token strings.
//
// For the streaming detokenizer they also decode a window of the ids: DecodeFlags say whether the
// window starts the text, and whether it ends it (`final`); when it does not, an incomplete UTF-8
// character at the end is held back instead of becoming U+FFFD.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace slim::tok {

struct DecodeFlags {
  bool first_is_start = true;     // tokens[0] is the first token of the text
  bool first_is_partial = false;  // tokens[0] continues text decoded before (after Fuse)
  bool final = true;              // the last token ends the text
  bool raw_bytes = false;         // keep bytes as they are (no UTF-8 repair): Tokenizer::token_bytes
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode(std::vector<std::string>& tokens, DecodeFlags& flags) const = 0;
  // Whether decoding a text in two parts, cut where nothing is held back, gives the same text:
  // false for a Replace after Fuse (it may match across the cut) and Strip with stop > 0.
  virtual bool splittable() const { return true; }
  // Whether the text decoded from a prefix of the ids (final = false) is always a prefix of the
  // text of the whole: false for a Replace after Fuse, whose match may change with later tokens.
  virtual bool prefix_stable() const { return true; }
};

// nullptr for a null config. `added_tokens`: contents of the added tokens, which the ByteLevel
// decoder passes through as text. Throws slim::Error naming an unsupported type.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& config,
                                      const std::unordered_set<std::string>& added_tokens);

}  // namespace slim::tok
