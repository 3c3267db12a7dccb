// Pre-tokenizers (tokenizer.json "pre_tokenizer"): Split (string or regex, every behaviour of
// Hugging Face's SplitDelimiterBehavior, invert), ByteLevel, Metaspace, Digits, Whitespace,
// WhitespaceSplit and Sequence. They cut a normalized section into the words BPE runs on.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace slim::tok {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits every piece further, in place. `first_section`: the pieces come from the first
  // section of the input (before any added token), for Metaspace's prepend_scheme "first".
  virtual void split(std::vector<std::string>& pieces, bool first_section) const = 0;
};

// nullptr for a null config. Throws slim::Error naming an unsupported type.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& config);

}  // namespace slim::tok
