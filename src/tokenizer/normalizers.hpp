// Normalizers (tokenizer.json "normalizer"): NFC/NFD/NFKC/NFKD, Prepend, Replace, Lowercase, Strip
// and Sequence. Each rewrites one added-token-free section of the input before pre-tokenization.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace slim::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

// nullptr for a null config. Throws slim::Error naming an unsupported type.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& config);

}  // namespace slim::tok
