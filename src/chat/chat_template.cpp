// slim::ChatTemplate: the public face of the template engine, and where a model folder's
// template is found.
#include "slim/chat_template.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chat/builtin_templates.hpp"
#include "chat/builtins.hpp"
#include "chat/evaluator.hpp"
#include "chat/json_value.hpp"
#include "chat/parser.hpp"
#include "slim/error.hpp"

namespace slim {

struct ChatTemplate::Impl {
  std::string source;
  chat::Body program;
  std::string bos_token;
  std::string eos_token;
  ChatTemplateLimits limits;
};

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::io, "cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorCode::io, "cannot read " + path.string());
  return ss.str();
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  try {
    return nlohmann::json::parse(read_text(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::invalid_format, path.string() + ": invalid JSON: " + e.what());
  }
}

// bos_token / eos_token are strings, AddedToken objects {"content": ...}, or null.
std::string special_token(const nlohmann::json& config, const char* field, const std::filesystem::path& path) {
  const auto it = config.find(field);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    const auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  throw Error(ErrorCode::invalid_config, path.string() + ": field '" + field + "' must be a string or an object with a string 'content'");
}

// tokenizer_config.json's chat_template: a string, or a list of {name, template} of which
// "default" is used (as transformers does when no template name is asked for).
std::optional<std::string> configured_template(const nlohmann::json& config, const std::filesystem::path& path) {
  const auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    std::string names;
    for (const auto& entry : *it) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") || !entry["name"].is_string() ||
          !entry["template"].is_string()) {
        throw Error(ErrorCode::invalid_config, path.string() + ": chat_template list entries must be {\"name\": ..., \"template\": ...} strings");
      }
      if (entry["name"] == "default") return entry["template"].get<std::string>();
      names += (names.empty() ? "" : ", ") + entry["name"].get<std::string>();
    }
    throw Error(ErrorCode::template_error, path.string() + ": chat_template lists templates (" + names + ") but none named 'default'");
  }
  throw Error(ErrorCode::invalid_config, path.string() + ": field 'chat_template' must be a string or a list");
}

// Llama 3's vocabulary has the <|start_header_id|> special token (id 128006).
bool looks_like_llama3(const nlohmann::json& tokenizer_config, const nlohmann::json& model_config) {
  const auto added = tokenizer_config.find("added_tokens_decoder");
  if (added != tokenizer_config.end() && added->is_object()) {
    for (const auto& [id, token] : added->items()) {
      if (token.is_object() && token.value("content", "") == "<|start_header_id|>") return true;
    }
  }
  const auto vocab = model_config.find("vocab_size");
  return vocab != model_config.end() && vocab->is_number_integer() && vocab->get<long long>() >= 128000;
}

std::string fallback_template_name(const std::filesystem::path& dir, const nlohmann::json& tokenizer_config) {
  const auto config_path = dir / "config.json";
  if (!std::filesystem::exists(config_path)) {
    throw Error(ErrorCode::template_error, dir.string() + ": no chat_template in tokenizer_config.json and no config.json to choose a built-in template from");
  }
  const nlohmann::json config = read_json_file(config_path);
  const std::string type = config.value("model_type", "");
  if (type == "llama") return looks_like_llama3(tokenizer_config, config) ? "llama3" : "chatml";
  if (type == "qwen2" || type == "qwen2_moe" || type == "qwen3" || type == "qwen3_moe" || type == "smollm" ||
      type == "smollm3") {
    return "chatml";
  }
  if (type == "gemma" || type == "gemma2" || type == "gemma3" || type == "gemma3_text") return "gemma";
  if (type == "phi3") return "phi3";
  throw Error(ErrorCode::template_error, dir.string() + ": no chat_template in tokenizer_config.json and no built-in template for model_type '" +
                                             type + "' (built-ins cover llama, qwen2, qwen3, smollm, gemma, gemma2, gemma3, phi3)");
}

}  // namespace

ChatTemplate::ChatTemplate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

ChatTemplate ChatTemplate::from_string(std::string_view source, std::string bos_token, std::string eos_token) {
  auto impl = std::make_unique<Impl>();
  impl->source = std::string(source);
  impl->program = chat::parse_template(source);
  impl->bos_token = std::move(bos_token);
  impl->eos_token = std::move(eos_token);
  return ChatTemplate(std::move(impl));
}

ChatTemplate ChatTemplate::builtin(std::string_view name, std::string bos_token, std::string eos_token) {
  const auto source = chat::builtin_template_source(name);
  if (!source) {
    throw Error(ErrorCode::invalid_argument, "unknown built-in chat template '" + std::string(name) +
                                                 "' (available: " + std::string(chat::builtin_template_names()) + ")");
  }
  return from_string(*source, std::move(bos_token), std::move(eos_token));
}

ChatTemplate ChatTemplate::load(const std::filesystem::path& model_dir) {
  const auto config_path = model_dir / "tokenizer_config.json";
  nlohmann::json config = nlohmann::json::object();
  if (std::filesystem::exists(config_path)) {
    config = read_json_file(config_path);
    if (!config.is_object()) throw Error(ErrorCode::invalid_config, config_path.string() + ": expected a JSON object");
  }
  std::string bos = special_token(config, "bos_token", config_path);
  std::string eos = special_token(config, "eos_token", config_path);
  std::optional<std::string> source = configured_template(config, config_path);
  if (!source && std::filesystem::exists(model_dir / "chat_template.jinja")) {
    source = read_text(model_dir / "chat_template.jinja");  // newer transformers save it beside the config
  }
  try {
    if (source) return from_string(*source, std::move(bos), std::move(eos));
  } catch (const Error& e) {
    throw Error(e.code(), config_path.string() + ": chat_template: " + e.what());
  }
  return builtin(fallback_template_name(model_dir, config), std::move(bos), std::move(eos));
}

namespace {

// A JSON input that must be an array (or null, when null_ok): given and parsed, else None.
chat::Value json_list(const ChatJson& json, const char* what, bool null_ok) {
  if (!json.given()) return chat::Value::none();
  chat::Value value = chat::parse_json_value(json.text(), what);
  if (!value.is_array() && !(null_ok && value.is_none())) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + " must be a JSON array" + (null_ok ? " or null" : ""));
  }
  return value;
}

}  // namespace

// The variables transformers' apply_chat_template renders with: messages, tools and documents
// (None when absent), add_generation_prompt, the special tokens, then the caller's keyword
// arguments (which may override the special tokens).
std::string ChatTemplate::render(chat::Value messages, const ChatOptions& options) const {
  chat::Scope root;
  chat::install_globals(root, options.now);
  root.set("bos_token", chat::Value(impl_->bos_token));
  root.set("eos_token", chat::Value(impl_->eos_token));
  if (options.variables.given()) {
    const chat::Value extra = chat::parse_json_value(options.variables.text(), "chat template variables");
    if (!extra.is_object()) throw Error(ErrorCode::invalid_argument, "chat template variables must be a JSON object");
    for (const auto& [key, value] : extra.as_object().items) {
      if (key == "messages" || key == "tools" || key == "documents" || key == "add_generation_prompt") {
        throw Error(ErrorCode::invalid_argument, "chat template variables cannot set '" + key + "' (pass it as such)");
      }
      root.set(key, value);
    }
  }
  root.set("messages", std::move(messages));
  root.set("tools", json_list(options.tools, "chat tools", true));
  root.set("documents", json_list(options.documents, "chat documents", true));
  root.set("add_generation_prompt", chat::Value(options.add_generation_prompt));
  chat::Evaluator evaluator(impl_->limits, root);
  return evaluator.render(impl_->program);
}

std::string ChatTemplate::apply(const ChatJson& messages, const ChatOptions& options) const {
  if (!messages.given()) throw Error(ErrorCode::invalid_argument, "chat messages not given");
  return render(json_list(messages, "chat messages", false), options);
}

std::string ChatTemplate::apply(std::span<const ChatMessage> messages, const ChatOptions& options) const {
  chat::Array items;
  for (const ChatMessage& m : messages) {
    auto object = chat::Value::object();
    object.as_object().set("role", chat::Value(m.role));
    object.as_object().set("content", chat::Value(m.content));
    items.push_back(std::move(object));
  }
  return render(chat::Value::array(std::move(items)), options);
}

std::string ChatTemplate::apply(std::span<const ChatMessage> messages, bool add_generation_prompt) const {
  ChatOptions options;
  options.add_generation_prompt = add_generation_prompt;
  return apply(messages, options);
}

std::string ChatTemplate::apply_json(std::string_view messages_json, bool add_generation_prompt,
                                     std::string_view tools_json, std::string_view extra_json) const {
  ChatOptions options;
  options.add_generation_prompt = add_generation_prompt;
  if (!tools_json.empty()) options.tools = tools_json;
  if (!extra_json.empty()) options.variables = extra_json;
  return apply(messages_json, options);
}

const std::string& ChatTemplate::bos_token() const noexcept { return impl_->bos_token; }
const std::string& ChatTemplate::eos_token() const noexcept { return impl_->eos_token; }
const std::string& ChatTemplate::source() const noexcept { return impl_->source; }
const ChatTemplateLimits& ChatTemplate::limits() const noexcept { return impl_->limits; }
void ChatTemplate::set_limits(const ChatTemplateLimits& limits) noexcept { impl_->limits = limits; }

}  // namespace slim
