// slim::ChatTemplate: renders a Hugging Face chat template (a Jinja2 program stored in
// tokenizer_config.json) the way transformers' apply_chat_template does, with a small built-in
// Jinja subset engine. See docs/chat_templates.md for the supported subset and the built-ins.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "slim/limits.hpp"

namespace slim {

namespace chat {
class Value;  // the engine's values (src/chat/value.hpp)
}

struct ChatMessage {
  std::string role;
  std::string content;
};

// A JSON value handed to a chat template: JSON text, or any JSON object with dump() such as
// nlohmann::ordered_json (dumped here). Either way it is copied, so temporaries are fine. Object
// keys keep the order they have there, as Python dicts do in transformers; nlohmann::json (unlike
// nlohmann::ordered_json) has already sorted its keys. Default-constructed: not given.
class ChatJson {
 public:
  ChatJson() = default;
  ChatJson(std::string text) : text_(std::move(text)), given_(true) {}
  ChatJson(std::string_view text) : ChatJson(std::string(text)) {}
  ChatJson(const char* text) : ChatJson(std::string(text)) {}
  template <class Json>
    requires requires(const Json& j) {
      { j.dump() } -> std::convertible_to<std::string>;
    }
  ChatJson(const Json& value) : ChatJson(std::string(value.dump())) {}

  bool given() const noexcept { return given_; }
  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
  bool given_ = false;
};

// What a render gets besides the messages, as transformers' apply_chat_template passes it.
struct ChatOptions {
  bool add_generation_prompt = false;  // append the header that opens the assistant's turn
  ChatJson tools = {};      // `tools`: an array of tool definitions (OpenAI form), or null; None when not given
  ChatJson documents = {};  // `documents`: an array of documents (RAG), or null; None when not given
  // An object whose members become template variables too (enable_thinking, date_string,
  // builtin_tools, ...; also bos_token / eos_token, which they override). It cannot set messages,
  // tools, documents or add_generation_prompt.
  ChatJson variables = {};
  // The instant strftime_now() formats, in UTC (reproducible renders). Unset: the current local
  // time, as transformers' datetime.now().
  std::optional<std::chrono::system_clock::time_point> now = {};
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

  // Full form: `messages` is a JSON array of message objects (role, content, tool_calls,
  // tool_call_id, name, reasoning_content, ... whatever the template reads), as text or as an
  // nlohmann::ordered_json. Template variables: messages, tools, documents, add_generation_prompt,
  // bos_token, eos_token and the members of options.variables. Malformed JSON, or a value of the
  // wrong kind (messages not an array, ...), throws ErrorCode::invalid_argument.
  std::string apply(const ChatJson& messages, const ChatOptions& options = {}) const;
  // The same with {role, content} messages.
  std::string apply(std::span<const ChatMessage> messages, const ChatOptions& options) const;

  // Older form of apply(messages, options): tools_json and extra_json (variables) as JSON text,
  // empty when not given.
  std::string apply_json(std::string_view messages_json, bool add_generation_prompt,
                         std::string_view tools_json = {}, std::string_view extra_json = {}) const;

  const std::string& bos_token() const noexcept;
  const std::string& eos_token() const noexcept;
  // The Jinja text it was made from (a built-in template's too).
  const std::string& source() const noexcept;
  const ChatTemplateLimits& limits() const noexcept;
  void set_limits(const ChatTemplateLimits& limits) noexcept;

 private:
  struct Impl;
  explicit ChatTemplate(std::unique_ptr<Impl> impl);
  std::string render(chat::Value messages, const ChatOptions& options) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slim
