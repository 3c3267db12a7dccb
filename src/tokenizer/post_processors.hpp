// Post-processors (tokenizer.json "post_processor"): TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel (nothing to do for ids) and Sequence. They add the special tokens
// (BOS, ...) around an encoded text when add_special_tokens is on.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace slim::tok {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void add_special_tokens(std::vector<int32_t>& ids) const = 0;
  // Whether it places special tokens itself (if not, tokenizer_config's add_bos_token decides).
  virtual bool has_template() const = 0;
  // The special token the template puts before the text, if any (the BOS).
  virtual std::optional<int32_t> leading_token() const = 0;
};

// nullptr for a null config. Throws slim::Error naming an unsupported type.
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& config);

}  // namespace slim::tok
