// slim::ChatTemplate: renders a Hugging Face chat template (a Jinja2 program stored in
// tokenizer_config.json) the way transformers' apply_chat_template does, with a small built-in
// Jinja subset engine. See docs/chat_templates.md for the supported subset and the built-ins.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "slim/limits.hpp"

namespace slim {

struct ChatMessage {
  std::string role;
  std::string content;
};

class ChatTemplate {
 public:
  // Parses a Jinja chat template; syntax errors throw slim::Error(ErrorCode::template_error, ...)
  // naming line and column. bos_token / eos_token are the template variables of the same name.
  static ChatTemplate from_string(std::string_view source, std::string bos_token = "",
                                  std::string eos_token = "");

  // Reads DIR/tokenizer_config.json: `chat_template` (a string, or a list of {name, template} of
  // which "default" is taken), bos_token / eos_token (strings or {"content": ...} objects).
  // Without a chat_template there (nor a DIR/chat_template.jinja), falls back to the family's
  // built-in template chosen from DIR/config.json's model_type:
  //   llama            -> "llama3" when the vocabulary is Llama 3's (<|start_header_id|> among the
  //                       added tokens, or vocab_size >= 128000), else "chatml" (SmolLM2 style)
  //   qwen2, qwen2_moe, qwen3, qwen3_moe, smollm, smollm3 -> "chatml"
  //   gemma, gemma2, gemma3, gemma3_text                  -> "gemma"
  //   phi3                                                -> "phi3"
  // Any other model_type without a template is a slim::Error(ErrorCode::template_error).
  static ChatTemplate load(const std::filesystem::path& model_dir);

  // Built-in templates by name: "chatml", "gemma", "llama3", "phi3" (exact formats in
  // docs/chat_templates.md). An unknown name throws slim::Error listing the names.
  static ChatTemplate builtin(std::string_view name, std::string bos_token = "",
                              std::string eos_token = "");

  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

  // Renders `messages` (as {"role", "content"} objects). add_generation_prompt appends the header
  // that opens the assistant's turn. A template's raise_exception(msg) throws
  // slim::Error(ErrorCode::template_error) whose what() is exactly msg.
  std::string apply(std::span<const ChatMessage> messages, bool add_generation_prompt) const;

  // Full form: messages and optional tools as JSON text (arrays of objects), for tool calls and
  // extra fields. extra_json, when given, is a JSON object whose members become template variables
  // too (e.g. {"enable_thinking": false}). Malformed JSON throws ErrorCode::invalid_argument.
  std::string apply_json(std::string_view messages_json, bool add_generation_prompt,
                         std::string_view tools_json = {}, std::string_view extra_json = {}) const;

  const std::string& bos_token() const noexcept;
  const std::string& eos_token() const noexcept;
  const ChatTemplateLimits& limits() const noexcept;
  void set_limits(const ChatTemplateLimits& limits) noexcept;

 private:
  struct Impl;
  explicit ChatTemplate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slim
