#include "tool_replies.hpp"

#include <utility>

#include "slim/error.hpp"

namespace slim::server {

void use_tools(ChatRequest& r, const ToolCallStyle& style) {
  const std::string tools = r.tools.dump();
  try {
    r.generation.options.grammar = tool_call_grammar(style.format, tools, r.tool_choice);
  } catch (const Error& e) {
    const std::string message = e.what();
    const std::string param = message.rfind("tool_choice", 0) == 0 ? "tool_choice" : "tools";
    throw ApiError(400, message, param, e.code() == ErrorCode::unsupported ? "unsupported_value" : "invalid_value");
  }
  if (style.template_shows_tools) return;
  const std::string prompt = tool_call_system_prompt(tools, r.tool_choice);
  Json& first = r.messages[0];
  if (first["role"] == "system" && first["content"].is_string()) {
    first["content"] = first["content"].get<std::string>() + "\n\n" + prompt;
  } else {
    r.messages.insert(r.messages.begin(), Json{{"role", "system"}, {"content", prompt}});
  }
}

ParsedToolCalls read_tool_reply(ToolCallFormat format, std::string_view text) {
  const std::string_view opening = tool_call_opening(format);
  if (text.substr(0, opening.size()) != opening) return {std::string(text), {}};
  return parse_tool_calls(format, text);
}

Json tool_calls_json(const ParsedToolCalls& reply, const std::string& id_prefix, bool streamed) {
  Json calls = Json::array();
  for (size_t i = 0; i < reply.calls.size(); ++i) {
    Json c = {{"id", "call_" + id_prefix + "_" + std::to_string(i)},
              {"type", "function"},
              {"function", {{"name", reply.calls[i].name}, {"arguments", reply.calls[i].arguments}}}};
    if (streamed) c["index"] = i;
    calls.push_back(std::move(c));
  }
  return calls;
}

std::string ToolReplyStream::push(std::string_view text) {
  if (mode_ == Mode::text) return std::string(text);
  held_ += text;
  if (mode_ == Mode::calls) return {};
  const std::string_view opening = tool_call_opening(format_);
  if (held_.size() >= opening.size()) {
    mode_ = std::string_view(held_).substr(0, opening.size()) == opening ? Mode::calls : Mode::text;
  } else if (opening.substr(0, held_.size()) != held_) {
    mode_ = Mode::text;
  }
  return mode_ == Mode::text ? std::exchange(held_, {}) : std::string();
}

ParsedToolCalls ToolReplyStream::finish() const {
  if (mode_ != Mode::calls) return {held_, {}};
  return read_tool_reply(format_, held_);
}

}  // namespace slim::server
