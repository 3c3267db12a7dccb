// slim-server's tool calls: the calls of a chat reply as OpenAI's message.tool_calls, and the
// stream of a reply that may become calls (its text held back while it may still be the opening
// of a call, as the grammar of tool_choice auto lets it be either).
#pragma once

#include <string>
#include <string_view>

#include "request.hpp"
#include "slim/tool_calls.hpp"

namespace slim::server {

// Readies a chat request with tools: its grammar (slim::tool_call_grammar for the tools and
// tool_choice; a bad tool or an unknown function is a 400 naming it) and, when the template does
// not show the tools, a system message describing them (appended to the first system message,
// or a new one in front).
void use_tools(ChatRequest& r, const ToolCallStyle& style);

// The reply's calls in the format, by the grammar's rule: a reply is calls when it starts with
// the format's opening (generic: always JSON). `id_prefix` makes the calls' ids ("call_<prefix>_<i>").
ParsedToolCalls read_tool_reply(ToolCallFormat format, std::string_view text);
// OpenAI's tool_calls list, ids "call_<id_prefix>_<i>"; `streamed` adds each call's index
// (delta.tool_calls).
Json tool_calls_json(const ParsedToolCalls& reply, const std::string& id_prefix, bool streamed);

class ToolReplyStream {
 public:
  explicit ToolReplyStream(ToolCallFormat format) : format_(format) {}
  // Text to stream now as content ("" while it is held back).
  std::string push(std::string_view text);
  // At the end: the whole reply (all that was pushed), read as calls when it became calls.
  ParsedToolCalls finish() const;
  // Text pushed but not yet streamed.
  const std::string& held() const { return held_; }

 private:
  enum class Mode { undecided, text, calls };
  ToolCallFormat format_;
  Mode mode_ = Mode::undecided;
  std::string held_;
};

}  // namespace slim::server
