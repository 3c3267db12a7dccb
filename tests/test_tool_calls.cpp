// Tool calls: the format each real template writes (probe renders), the parser on each format's
// text, and random walks through the calls' grammars (every walk a parsable call whose
// arguments are a document of its tool's parameters schema).
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "slim/chat_template.hpp"
#include "slim/error.hpp"
#include "slim/tokenizer.hpp"
#include "slim/tool_calls.hpp"
#include "test_support.hpp"
#include "token_walks.hpp"

namespace {

using slim::ToolCallFormat;
using slim::ToolChoice;
using Json = nlohmann::ordered_json;

slim::Tokenizer tokenizer_of(const char* folder) {
  return slim::Tokenizer::load(slim::test::shared_dir() / "fixtures" / "tokenizers" / folder);
}

slim::ChatTemplate template_file(const std::string& name) {
  std::ifstream in(slim::test::shared_dir() / "fixtures" / "chat" / "templates" / (name + ".jinja"));
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return slim::ChatTemplate::from_string(s.str(), "<s>", "</s>");
}

const char* kTools = R"([
  {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
      "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
      "required": ["city", "unit"]}}},
  {"type": "function", "function": {"name": "add", "parameters": {"type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"$ref": "#/$defs/small"}}, "required": ["a", "b"],
    "$defs": {"small": {"type": "integer", "minimum": 0, "maximum": 9}}}}},
  {"type": "function", "function": {"name": "now"}}
])";

// Each tool's parameters schema, as a grammar (the arguments of a call must be its documents).
bool arguments_valid(const std::string& name, const std::string& arguments) {
  for (const Json& t : Json::parse(kTools)) {
    if (t["function"]["name"] != name) continue;
    const Json params = t["function"].contains("parameters") ? t["function"]["parameters"] : Json{{"type", "object"}};
    slim::GrammarMatcher m(slim::Grammar::from_json_schema(params.dump()));
    return m.accept(arguments) && m.is_complete();
  }
  return false;
}

}  // namespace

TEST_CASE("tool-call formats detected from real templates", "[tools]") {
  const auto qwen = tokenizer_of("qwen2_5");
  const auto llama = tokenizer_of("llama3_1");
  const auto mistral = tokenizer_of("mistral");
  struct Case {
    const char* file;
    const slim::Tokenizer& tok;
    ToolCallFormat format;
  };
  const std::vector<Case> cases = {
      {"Qwen-Qwen2.5-7B-Instruct", qwen, ToolCallFormat::hermes},
      {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", llama, ToolCallFormat::hermes},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", llama, ToolCallFormat::hermes},
      {"meta-llama-Llama-3.1-8B-Instruct", llama, ToolCallFormat::llama3_json},
      {"meta-llama-Llama-3.2-3B-Instruct", llama, ToolCallFormat::llama3_json},
      {"meta-llama-Llama-3.3-70B-Instruct", llama, ToolCallFormat::llama3_json},
      {"mistralai-Mistral-Nemo-Instruct-2407", mistral, ToolCallFormat::mistral},
      {"google-gemma-2-2b-it", llama, ToolCallFormat::generic},
      {"microsoft-Phi-3.5-mini-instruct", llama, ToolCallFormat::generic},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    const auto style = slim::detect_tool_call_format(template_file(c.file), c.tok);
    CHECK(to_string(style.format) == std::string(to_string(c.format)));
    CHECK(style.template_shows_tools == (c.format != ToolCallFormat::generic));
  }
  // The tokenizer's own template (Qwen2.5's, with tools) and a Llama 3 one without tools.
  CHECK(slim::detect_tool_call_format(slim::ChatTemplate::load(slim::test::shared_dir() / "fixtures" / "tokenizers" / "qwen2_5"), qwen).format ==
        ToolCallFormat::hermes);
  CHECK(slim::detect_tool_call_format(slim::ChatTemplate::builtin("chatml"), qwen).format == ToolCallFormat::hermes);  // the vocabulary's <tool_call>
  CHECK(slim::detect_tool_call_format(slim::ChatTemplate::builtin("llama3"), llama).format == ToolCallFormat::generic);
}

TEST_CASE("tool-call text parsed in every format", "[tools]") {
  using slim::parse_tool_calls;
  auto p = parse_tool_calls(ToolCallFormat::hermes,
                            "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
                            "<tool_call>\n{\"name\":\"now\",\"arguments\":\"{}\"}\n</tool_call>");
  REQUIRE(p.calls.size() == 2);
  CHECK(p.calls[0].name == "get_weather");
  CHECK(p.calls[0].arguments == R"({"city":"Paris"})");
  CHECK(p.calls[1].arguments == "{}");  // arguments given as a JSON string
  CHECK(p.content == "Let me look.");
  p = parse_tool_calls(ToolCallFormat::hermes, "<tool_call>\n{\"name\": \"x\", \"arguments\": {\"a\": 1\n</tool_call> tail");
  CHECK(p.calls.empty());  // broken JSON stays text
  CHECK(p.content == "<tool_call>\n{\"name\": \"x\", \"arguments\": {\"a\": 1\n</tool_call> tail");
  p = parse_tool_calls(ToolCallFormat::hermes, "<tool_call>{\"name\": \"now\", \"arguments\": {}}");  // no closing tag
  REQUIRE(p.calls.size() == 1);
  CHECK(p.content.empty());

  p = parse_tool_calls(ToolCallFormat::llama3_json, " {\"name\": \"add\", \"parameters\": {\"b\": 2, \"a\": 1}}");
  REQUIRE(p.calls.size() == 1);
  CHECK(p.calls[0].arguments == R"({"b":2,"a":1})");  // the model's key order kept
  p = parse_tool_calls(ToolCallFormat::llama3_json, "<|python_tag|>{\"name\": \"now\", \"parameters\": {}}");
  CHECK(p.calls.size() == 1);
  p = parse_tool_calls(ToolCallFormat::llama3_json, "The answer is {\"name\": 1}.");
  CHECK(p.calls.empty());
  CHECK(p.content == "The answer is {\"name\": 1}.");

  p = parse_tool_calls(ToolCallFormat::mistral, R"([TOOL_CALLS][{"name": "now", "arguments": {}, "id": "abcdef123"}, {"name": "add", "arguments": {"a": 1, "b": 2}}])");
  REQUIRE(p.calls.size() == 2);
  CHECK(p.calls[1].name == "add");
  p = parse_tool_calls(ToolCallFormat::mistral, R"([TOOL_CALLS][{"name": "now"}, {"arguments": {}}])");
  CHECK(p.calls.empty());  // one bad call: all text
  CHECK(p.content.rfind("[TOOL_CALLS]", 0) == 0);

  p = parse_tool_calls(ToolCallFormat::generic, R"({"tool_calls": [{"name": "now", "arguments": {}}]})");
  CHECK(p.calls.size() == 1);
  p = parse_tool_calls(ToolCallFormat::generic, R"({"response": "Hello there"})");
  CHECK(p.calls.empty());
  CHECK(p.content == "Hello there");
  p = parse_tool_calls(ToolCallFormat::generic, "plain text");
  CHECK(p.content == "plain text");
}

TEST_CASE("tool-call grammars: bad tools are errors naming the tool", "[tools]") {
  const auto error_of = [](const char* tools, slim::ToolCallOptions o = {}) -> std::string {
    try {
      (void)slim::tool_call_grammar(ToolCallFormat::hermes, tools, o);
    } catch (const slim::Error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of("[]").find("non-empty") != std::string::npos);
  CHECK(error_of("{").find("non-empty") != std::string::npos);
  CHECK(error_of(R"([{"type": "function", "function": {"description": "x"}}])") ==
        "tools[0]: a tool needs function.name (a non-empty string)");
  CHECK(error_of(R"([{"function": {"name": "f", "parameters": {"type": "object", "not": {}}}}])")
            .rfind("tools[0].function.parameters: JSON Schema at '#': keyword 'not' is not supported", 0) == 0);
  CHECK(error_of(R"([{"function": {"name": "f"}}, {"function": {"name": "f"}}])") == "tools[1]: two tools are called 'f'");
  CHECK(error_of(kTools, {.choice = ToolChoice::function, .function = "nope"}) ==
        "tool_choice names 'nope', which is not among the tools");
}

TEST_CASE("random walks through the tool-call grammars end in valid calls", "[tools][grammar]") {
  const auto tok = tokenizer_of("qwen2_5");
  for (const ToolCallFormat format : {ToolCallFormat::hermes, ToolCallFormat::llama3_json, ToolCallFormat::mistral, ToolCallFormat::generic}) {
    for (const ToolChoice choice : {ToolChoice::required, ToolChoice::function, ToolChoice::automatic}) {
      INFO("format " << to_string(format) << ", choice " << static_cast<int>(choice));
      const auto g = slim::tool_call_grammar(format, kTools, {.choice = choice, .function = "get_weather"});
      int calls = 0;
      slim::test::random_walks(g, tok, 12, 40, [&](const std::string& text) {
        const auto p = slim::parse_tool_calls(format, text);
        if (choice != ToolChoice::automatic) REQUIRE(!p.calls.empty());
        if (p.calls.empty() && format != ToolCallFormat::generic) CHECK(text.rfind(std::string(slim::tool_call_opening(format)), 0) != 0);
        for (const auto& c : p.calls) {
          INFO(c.name << " " << c.arguments);
          if (choice == ToolChoice::function) CHECK(c.name == "get_weather");
          CHECK(arguments_valid(c.name, c.arguments));
          ++calls;
        }
      });
      if (choice != ToolChoice::automatic) CHECK(calls >= 12);
    }
  }
}

TEST_CASE("tool choice auto: text, or the opening and then only calls", "[tools][grammar]") {
  const auto g = slim::tool_call_grammar(ToolCallFormat::hermes, kTools);
  slim::GrammarMatcher text(g);
  CHECK(text.accept("It is sunny. <tool_call> is just text here"));
  CHECK(text.is_complete());
  slim::GrammarMatcher call(g);
  CHECK(call.accept("<tool_call>\n"));
  CHECK_FALSE(call.is_complete());
  CHECK_FALSE(call.accept("hello"));
  CHECK(call.accept(R"({"name":"now","arguments":{}})" "\n</tool_call>"));
  CHECK(call.is_complete());
  slim::GrammarMatcher partial(g);
  CHECK(partial.accept("<tool_c"));  // a prefix of the opening may still become a call
  CHECK(partial.is_complete());      // or end as text
  slim::GrammarMatcher generic(slim::tool_call_grammar(ToolCallFormat::generic, kTools));
  CHECK(generic.accept(R"({"response":"hi"})"));
  CHECK(generic.is_complete());
}
