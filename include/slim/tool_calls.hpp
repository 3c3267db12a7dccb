// Tool calls (function calling): the text formats chat models write their calls in, a grammar that
// constrains a model to write valid calls of the tools offered, and the parser that turns the
// text back into calls.
//
//   const auto format = slim::detect_tool_call_format(chat_template, tokenizer);
//   GenerateOptions o{.grammar = slim::tool_call_grammar(format, tools_json, {.choice = ToolChoice::required})};
//   ... generate ...
//   slim::ParsedToolCalls p = slim::parse_tool_calls(format, result.text);
//
// tools_json is OpenAI's `tools` list: [{"type": "function", "function": {"name", "description",
// "parameters": JSON Schema}}, ...] (a bare {"name", "parameters"} object is taken too). The
// formats (docs/structured_output.md):
//   llama3_json  Llama 3.1/3.2: {"name": "f", "parameters": {...}}, one call, the whole reply
//   hermes       Qwen2.5, Hermes: <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>, repeated
//   mistral      Mistral: [TOOL_CALLS][{"name": "f", "arguments": {...}}, ...]
//   generic      any other template: the reply is {"tool_calls": [{"name", "arguments"}, ...]} or,
//                when the model may answer in text, {"response": "text"}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "slim/grammar.hpp"

namespace slim {

class ChatTemplate;
class Tokenizer;

enum class ToolCallFormat { llama3_json, hermes, mistral, generic };
const char* to_string(ToolCallFormat format);

struct ToolCallStyle {
  ToolCallFormat format = ToolCallFormat::generic;
  // Whether the template writes the tools into the prompt; when it does not (generic), the caller
  // should tell the model about them (tool_call_system_prompt).
  bool template_shows_tools = false;
};

// Renders a probe conversation (a tool, a user message, an assistant call, the tool's result)
// with the template and looks at how it wrote the call: "<tool_call>" is hermes, "[TOOL_CALLS]"
// mistral, a {"name": ..., "parameters": ...} object llama3_json. A template that writes no
// call (or raises) falls back on the vocabulary: a <tool_call> token is hermes, [TOOL_CALLS]
// mistral, <|python_tag|> llama3_json; otherwise generic.
ToolCallStyle detect_tool_call_format(const ChatTemplate& chat_template, const Tokenizer& tokenizer);

enum class ToolChoice {
  automatic,  // OpenAI's "auto": text or calls
  required,   // at least one call
  function    // a call of ToolCallOptions::function
};

struct ToolCallOptions {
  ToolChoice choice = ToolChoice::automatic;
  std::string function = {};  // the tool's name, for ToolChoice::function (then one call)
  bool parallel = true;        // several calls in a reply (OpenAI's parallel_tool_calls)
};

// The grammar of a reply under `options`. Calls are compact JSON whose arguments follow each
// tool's parameters schema (the subset of Grammar::from_json_schema). With ToolChoice::automatic
// the reply is either a call (the format's opening, then calls) or free text that does not start
// with the format's opening (generic: {"response": text}). Errors: slim::Error(invalid_argument)
// for a malformed tools list or an unknown function, and the schema's own errors with
// "tools[i].function.parameters" in front of the message.
Grammar tool_call_grammar(ToolCallFormat format, std::string_view tools_json, const ToolCallOptions& options = {});

// The text a reply in `format` starts with when it is a call ("" for generic, where every reply
// is JSON). A streaming server holds back text that may still become this opening.
std::string_view tool_call_opening(ToolCallFormat format);

// A system message describing the tools and the generic format, for templates that do not show
// the tools (ToolCallStyle::template_shows_tools false).
std::string tool_call_system_prompt(std::string_view tools_json, const ToolCallOptions& options = {});

struct ToolCall {
  std::string name;
  std::string arguments;  // a JSON object as compact text
};

struct ParsedToolCalls {
  std::string content;          // the text that is not a call (trimmed)
  std::vector<ToolCall> calls;  // in the order written
};

// Parses a model's reply. Never throws on model output: text that is not a well-formed call in
// the format (a call cut short by max_tokens, say) stays in `content`.
ParsedToolCalls parse_tool_calls(ToolCallFormat format, std::string_view text);

}  // namespace slim
