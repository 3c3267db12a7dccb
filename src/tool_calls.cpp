// Tool calls: the formats' grammars (a JSON Schema of the calls, compiled by the schema compiler,
// inside the format's text) and their parser. The formats are the chat templates' own (what a
// template writes for an assistant message with tool_calls), as llama.cpp's common/chat.cpp
// also reads them.
#include "slim/tool_calls.hpp"

#include <nlohmann/json.hpp>

#include "grammar/gbnf.hpp"
#include "slim/chat_template.hpp"
#include "slim/error.hpp"
#include "slim/tokenizer.hpp"

namespace slim {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kProbeName = "slim_probe_tool";

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

const char* arguments_key(ToolCallFormat f) { return f == ToolCallFormat::llama3_json ? "parameters" : "arguments"; }

constexpr int kMaxDepth = 512;

// JSON text, or a discarded value when it is not JSON or nests deeper than kMaxDepth (writing
// and copying a value recurse: a hostile depth would overflow the stack).
Json parse_json(std::string_view text) {
  bool deep = false;
  Json j = Json::parse(
      text,
      [&](int depth, Json::parse_event_t, Json&) {
        deep = deep || depth > kMaxDepth;
        return !deep;
      },
      /*allow_exceptions=*/false);
  return deep ? Json(Json::value_t::discarded) : j;
}

struct Tool {
  std::string name;
  Json parameters;
  std::string description;
};

std::vector<Tool> read_tools(std::string_view tools_json) {
  const Json tools = parse_json(tools_json);
  if (tools.is_discarded() || !tools.is_array() || tools.empty()) {
    throw Error(ErrorCode::invalid_argument, "tools must be a non-empty JSON list of tool definitions (at most " +
                                                 std::to_string(kMaxDepth) + " levels deep)");
  }
  std::vector<Tool> out;
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string at = "tools[" + std::to_string(i) + "]";
    const Json& t = tools[i];
    const Json* f = t.is_object() && t.contains("function") ? &t["function"] : &t;
    if (!f->is_object() || !f->contains("name") || !(*f)["name"].is_string() || (*f)["name"].get<std::string>().empty()) {
      throw Error(ErrorCode::invalid_argument, at + ": a tool needs function.name (a non-empty string)");
    }
    Tool tool{(*f)["name"].get<std::string>(), Json{{"type", "object"}}, ""};
    if (f->contains("description") && (*f)["description"].is_string()) tool.description = (*f)["description"];
    if (f->contains("parameters") && !(*f)["parameters"].is_null()) tool.parameters = (*f)["parameters"];
    if (!tool.parameters.is_object()) throw Error(ErrorCode::invalid_argument, at + ".function.parameters must be a JSON Schema object");
    for (const Tool& seen : out) {
      if (seen.name == tool.name) throw Error(ErrorCode::invalid_argument, at + ": two tools are called '" + tool.name + "'");
    }
    try {  // checked on its own, so that an error names the tool
      (void)grammar::json_schema_to_gbnf(tool.parameters.dump(), false);
    } catch (const Error& e) {
      throw Error(e.code(), at + ".function.parameters: " + e.what());
    }
    out.push_back(std::move(tool));
  }
  return out;
}

// A tool's schema moves inside the calls' schema: its local $refs ("#...") must point there.
void move_refs(Json& schema, const std::string& base) {
  if (schema.is_object()) {
    for (auto& [key, v] : schema.items()) {
      if (key == "$ref" && v.is_string() && v.get<std::string>().rfind('#', 0) == 0) {
        v = "#" + base + v.get<std::string>().substr(1);
      } else {
        move_refs(v, base);
      }
    }
  } else if (schema.is_array()) {
    for (Json& v : schema) move_refs(v, base);
  }
}

// {"anyOf": [one {"name": const, args: parameters} object a tool]}, placed at JSON pointer `at`.
Json calls_schema(ToolCallFormat format, const std::vector<Tool>& tools, const std::string& at) {
  Json any = Json::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    Json parameters = tools[i].parameters;
    move_refs(parameters, at + "/anyOf/" + std::to_string(i) + "/properties/" + arguments_key(format));
    any.push_back({{"type", "object"},
                   {"properties", {{"name", {{"const", tools[i].name}}}, {arguments_key(format), std::move(parameters)}}},
                   {"required", {"name", arguments_key(format)}}});
  }
  return {{"anyOf", std::move(any)}};
}

// GBNF for text that does not start with `w`: "" | [^w0] .* | w0 ("" | [^w1] .* | w1 (...)).
std::string text_not_starting_with(std::string_view w) {
  std::string out, close;
  for (size_t i = 0; i < w.size(); ++i) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(w[i]));
    out += std::string("(\"\" | [^") + hex + "] tc-any*";
    if (i + 1 < w.size()) out += " | " + grammar::gbnf_literal(w.substr(i, 1)) + " ";
    close += ")";
  }
  return out + close;
}

std::optional<ToolCall> call_from(const Json& j) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return std::nullopt;
  Json args = Json::object();
  for (const char* key : {"arguments", "parameters"}) {
    if (!j.contains(key)) continue;
    args = j[key];
    if (args.is_string()) args = parse_json(args.get<std::string>());
    break;
  }
  if (!args.is_object()) return std::nullopt;
  return ToolCall{j["name"].get<std::string>(), args.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

}  // namespace

const char* to_string(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::llama3_json: return "llama3_json";
    case ToolCallFormat::hermes: return "hermes";
    case ToolCallFormat::mistral: return "mistral";
    default: return "generic";
  }
}

ToolCallStyle detect_tool_call_format(const ChatTemplate& chat_template, const Tokenizer& tokenizer) {
  const Json tools = Json::array({{{"type", "function"},
                                   {"function",
                                    {{"name", kProbeName},
                                     {"description", "A probe."},
                                     {"parameters",
                                      {{"type", "object"},
                                       {"properties", {{"x", {{"type", "string"}}}}},
                                       {"required", {"x"}}}}}}}});
  const Json user = {{"role", "user"}, {"content", "Hi"}};
  // Mistral's templates want ids of 9 letters and digits.
  const Json call = {{"id", "abcdef123"}, {"type", "function"}, {"function", {{"name", kProbeName}, {"arguments", {{"x", "y"}}}}}};
  const Json messages = Json::array({user,
                                     {{"role", "assistant"}, {"content", ""}, {"tool_calls", Json::array({call})}},
                                     {{"role", "tool"}, {"tool_call_id", "abcdef123"}, {"name", kProbeName}, {"content", "ok"}}});
  ToolCallStyle style;
  const auto render = [&](const Json& m) -> std::string {
    try {
      return chat_template.apply(ChatJson(m), {.add_generation_prompt = true, .tools = ChatJson(tools)});
    } catch (const Error&) {  // a template that refuses tool calls writes none
      return {};
    }
  };
  style.template_shows_tools = render(Json::array({user})).find(kProbeName) != std::string::npos;
  const std::string text = render(messages);
  const std::string llama_call = "\"name\": \"" + std::string(kProbeName) + "\", \"parameters\"";
  if (text.find("<tool_call>") != std::string::npos) {
    style.format = ToolCallFormat::hermes;
  } else if (text.find("[TOOL_CALLS]") != std::string::npos) {
    style.format = ToolCallFormat::mistral;
  } else if (text.find(llama_call) != std::string::npos) {
    style.format = ToolCallFormat::llama3_json;
  } else if (tokenizer.token_to_id("<tool_call>")) {
    style.format = ToolCallFormat::hermes;
  } else if (tokenizer.token_to_id("[TOOL_CALLS]")) {
    style.format = ToolCallFormat::mistral;
  } else if (tokenizer.token_to_id("<|python_tag|>")) {
    style.format = ToolCallFormat::llama3_json;
  }
  if (style.format == ToolCallFormat::generic) style.template_shows_tools = false;  // it cannot show our format
  return style;
}

std::string_view tool_call_opening(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::llama3_json: return "{\"name\":\"";
    case ToolCallFormat::hermes: return "<tool_call>";
    case ToolCallFormat::mistral: return "[TOOL_CALLS]";
    default: return "";
  }
}

Grammar tool_call_grammar(ToolCallFormat format, std::string_view tools_json, const ToolCallOptions& options) {
  std::vector<Tool> tools = read_tools(tools_json);
  if (options.choice == ToolChoice::function) {
    std::erase_if(tools, [&](const Tool& t) { return t.name != options.function; });
    if (tools.empty()) throw Error(ErrorCode::invalid_argument, "tool_choice names '" + options.function + "', which is not among the tools");
  }
  const bool may_talk = options.choice == ToolChoice::automatic;
  const bool several = options.parallel && options.choice != ToolChoice::function;
  Json schema;
  switch (format) {
    case ToolCallFormat::llama3_json:
    case ToolCallFormat::hermes: schema = calls_schema(format, tools, ""); break;
    case ToolCallFormat::mistral:
      schema = {{"type", "array"}, {"items", calls_schema(format, tools, "/items")}, {"minItems", 1}};
      if (!several) schema["maxItems"] = 1;
      break;
    default: {
      const std::string at = may_talk ? "/anyOf/0/properties/tool_calls/items" : "/properties/tool_calls/items";
      schema = {{"type", "object"},
                {"properties", {{"tool_calls", {{"type", "array"}, {"items", calls_schema(format, tools, at)}, {"minItems", 1}}}}},
                {"required", {"tool_calls"}}};
      if (!several) schema["properties"]["tool_calls"]["maxItems"] = 1;
      if (may_talk) {
        const Json text = {{"type", "object"}, {"properties", {{"response", {{"type", "string"}}}}}, {"required", {"response"}}};
        schema = {{"anyOf", {schema, text}}};
      }
    }
  }
  // The schema's grammar with its root renamed, inside the format's text.
  std::string json = grammar::json_schema_to_gbnf(schema.dump(), false);
  json.replace(0, 4, "tc-json");
  std::string calls;
  switch (format) {
    case ToolCallFormat::hermes:
      calls = R"("<tool_call>\n" tc-json "\n</tool_call>")";
      if (several) calls += R"( ("\n<tool_call>\n" tc-json "\n</tool_call>")*)";
      break;
    case ToolCallFormat::mistral: calls = R"("[TOOL_CALLS]" tc-json)"; break;
    default: calls = "tc-json";
  }
  std::string gbnf = "root ::= " + calls;
  if (may_talk && format != ToolCallFormat::generic) {
    gbnf += " | " + text_not_starting_with(tool_call_opening(format)) + "\ntc-any ::= .";
  }
  return Grammar::from_gbnf(gbnf + "\n" + json);
}

std::string tool_call_system_prompt(std::string_view tools_json, const ToolCallOptions& options) {
  // Compact, a line a tool, so that small contexts hold it.
  std::string out = "Tools (name, description: parameters as JSON Schema):\n";
  for (const Tool& t : read_tools(tools_json)) {
    out += "- " + t.name + (t.description.empty() ? "" : ", " + t.description) + ": " + t.parameters.dump() + "\n";
  }
  out += "To call tools, reply {\"tool_calls\": [{\"name\": \"<tool>\", \"arguments\": {...}}]}.";
  if (options.choice == ToolChoice::automatic) out += " Otherwise reply {\"response\": \"<answer>\"}.";
  return out;
}

ParsedToolCalls parse_tool_calls(ToolCallFormat format, std::string_view text) {
  ParsedToolCalls out;
  const auto whole_text = [&] {
    out.calls.clear();
    out.content = std::string(trim(text));
    return out;
  };
  switch (format) {
    case ToolCallFormat::hermes: {
      std::string content;
      size_t at = 0;
      while (at < text.size()) {
        const size_t open = text.find("<tool_call>", at);
        if (open == std::string_view::npos) break;
        const size_t body = open + std::string_view("<tool_call>").size();
        const size_t close = text.find("</tool_call>", body);
        const size_t end = close == std::string_view::npos ? text.size() : close + std::string_view("</tool_call>").size();
        content += text.substr(at, open - at);
        if (auto call = call_from(parse_json(trim(text.substr(body, std::min(close, text.size()) - body))))) {
          out.calls.push_back(std::move(*call));
        } else {
          content += text.substr(open, end - open);  // not a call: it stays text
        }
        at = end;
      }
      if (at < text.size()) content += text.substr(at);
      out.content = std::string(trim(content));
      return out;
    }
    case ToolCallFormat::mistral: {
      const size_t open = text.find("[TOOL_CALLS]");
      if (open == std::string_view::npos) return whole_text();
      const Json calls = parse_json(text.substr(open + std::string_view("[TOOL_CALLS]").size()));
      if (calls.is_discarded()) return whole_text();
      for (const Json& c : calls.is_array() ? calls : Json::array({calls})) {
        auto call = call_from(c);
        if (!call) return whole_text();
        out.calls.push_back(std::move(*call));
      }
      out.content = std::string(trim(text.substr(0, open)));
      return out;
    }
    case ToolCallFormat::llama3_json: {
      std::string_view body = trim(text);
      if (body.rfind("<|python_tag|>", 0) == 0) body.remove_prefix(std::string_view("<|python_tag|>").size());
      auto call = call_from(parse_json(body));
      if (!call) return whole_text();
      out.calls.push_back(std::move(*call));
      return out;
    }
    default: {
      const Json j = parse_json(trim(text));
      if (!j.is_object()) return whole_text();
      if (j.contains("tool_calls") && j["tool_calls"].is_array()) {
        for (const Json& c : j["tool_calls"]) {
          auto call = call_from(c);
          if (!call) return whole_text();
          out.calls.push_back(std::move(*call));
        }
        return out;
      }
      if (j.contains("tool_call")) {
        auto call = call_from(j["tool_call"]);
        if (!call) return whole_text();
        out.calls.push_back(std::move(*call));
        return out;
      }
      if (j.contains("response") && j["response"].is_string()) {
        out.content = j["response"].get<std::string>();
        return out;
      }
      return whole_text();
    }
  }
}

}  // namespace slim
