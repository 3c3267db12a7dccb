// Real chat templates (../shared/fixtures/chat/templates and the tokenizer folders' own) rendered
// with tools, tool calls, tool results and documents, compared byte for byte with Python's Jinja2
// set up as transformers' apply_chat_template sets it up. The cases are tests/data/chat_tools/,
// written by scripts/gen-chat-cases.py; where Jinja2 raised, slim must raise a slim::Error whose
// message contains Jinja2's.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "slim/chat_template.hpp"
#include "slim/error.hpp"
#include "test_support.hpp"

namespace {

using nlohmann::ordered_json;
using slim::ChatOptions;
using slim::ChatTemplate;

const std::filesystem::path kData = std::filesystem::path(SLIM_TEST_DATA_DIR) / "chat_tools";

ordered_json read_ordered(const std::filesystem::path& path) {
  return ordered_json::parse(slim::test::read_file(path));
}

// 2024-09-05T14:30:00Z, the generator's strftime_now clock (conversations.json: now_utc).
std::chrono::system_clock::time_point fixed_now() {
  using namespace std::chrono;
  return sys_days{year{2024} / September / 5} + hours{14} + minutes{30};
}

// The template of a cases file's source: a .jinja file with the file's special tokens, or a
// tokenizer folder loaded as ChatTemplate::load does (its special tokens must be the file's).
ChatTemplate load_source(const std::string& source, const ordered_json& doc) {
  const auto path = slim::test::shared_dir() / source;
  const std::string bos = doc["bos_token"].get<std::string>();
  const std::string eos = doc["eos_token"].get<std::string>();
  if (std::filesystem::is_directory(path)) {
    ChatTemplate t = ChatTemplate::load(path);
    CHECK(t.bos_token() == bos);
    CHECK(t.eos_token() == eos);
    return t;
  }
  return ChatTemplate::from_string(slim::test::read_file(path), bos, eos);
}

// Where two renders part, with a little of each from there (long renders are hard to compare by eye).
std::string first_difference(const std::string& got, const std::string& expected) {
  std::size_t i = 0;
  while (i < got.size() && i < expected.size() && got[i] == expected[i]) ++i;
  if (i == got.size() && i == expected.size()) return "identical";
  return "first difference at byte " + std::to_string(i) + ": got [" + got.substr(i, 60) + "], expected [" +
         expected.substr(i, 60) + "]";
}

struct Tally {
  int cases = 0;
  int errors = 0;
};

void check_cases(const ChatTemplate& tmpl, const ordered_json& doc, const ordered_json& conversations,
                 const std::string& label, Tally& tally) {
  for (const auto& c : doc["cases"]) {
    const ordered_json& conversation = conversations.at(c["conversation"].get<std::string>());
    ChatOptions options;
    options.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    if (conversation.contains("tools")) options.tools = conversation["tools"];
    if (conversation.contains("documents")) options.documents = conversation["documents"];
    if (c.contains("variables")) options.variables = c["variables"];
    options.now = fixed_now();
    std::string variables;
    if (c.contains("variables")) {
      for (const auto& [key, value] : c["variables"].items()) variables += " " + key;
    }
    INFO(label << ": " << c["conversation"].get<std::string>() << ", add_generation_prompt "
               << options.add_generation_prompt << (variables.empty() ? "" : ", variables" + variables));
    ++tally.cases;
    std::string rendered;
    std::string error = "(none)";
    slim::ErrorCode code{};
    try {
      rendered = tmpl.apply(conversation["messages"], options);
    } catch (const slim::Error& e) {
      error = e.what();
      code = e.code();
    }
    if (c.contains("error")) {
      ++tally.errors;
      CHECK(code == slim::ErrorCode::template_error);
      CHECK_THAT(error, Catch::Matchers::Contains(c["error"].get<std::string>()));
    } else {
      CHECK(error == "(none)");
      const std::string expected = c["expected"].get<std::string>();
      INFO(first_difference(rendered, expected));
      CHECK(rendered == expected);
    }
  }
}

}  // namespace

TEST_CASE("real templates render tools, tool calls and documents as transformers' Jinja2 does", "[chat][tools][jinja2]") {
  const ordered_json doc = read_ordered(kData / "conversations.json");
  CHECK(doc["now_utc"] == "2024-09-05T14:30:00+00:00");  // fixed_now()
  const ordered_json& conversations = doc["conversations"];
  std::map<std::string, Tally> tallies;
  int templates = 0;
  int sources = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kData)) {
    if (entry.path().filename() == "conversations.json") continue;
    const ordered_json cases = read_ordered(entry.path());
    ++templates;
    for (const auto& source : cases["sources"]) {
      ++sources;
      const ChatTemplate tmpl = load_source(source.get<std::string>(), cases);
      check_cases(tmpl, cases, conversations, source.get<std::string>(), tallies[source.get<std::string>()]);
    }
  }
  int renders = 0;
  for (const auto& [source, tally] : tallies) {
    INFO(source);
    CHECK(tally.cases >= 14);                // every conversation, once at least
    CHECK(tally.cases - tally.errors >= 2);  // and some render
    renders += tally.cases;
  }
  // 17 .jinja files and 5 tokenizer folders with a chat_template; identical ones share a file.
  CHECK(sources == 22);
  CHECK(templates == 18);
  CHECK(renders >= 320);
}

TEST_CASE("tools passed as ordered JSON keep the caller's key order", "[chat][tools]") {
  const ChatTemplate tmpl = ChatTemplate::from_string("{{ tools | tojson }}|{% for k, v in tools[0].items() %}{{ k }},{% endfor %}");
  const auto tools = ordered_json::parse(R"([{"type": "function", "function": {"name": "f", "description": "d"}}])");
  ChatOptions options;
  options.tools = tools;
  CHECK(tmpl.apply("[]", options) == R"([{"type": "function", "function": {"name": "f", "description": "d"}}]|type,function,)");
  options.tools = tools.dump();  // the same as text
  CHECK(tmpl.apply("[]", options) == R"([{"type": "function", "function": {"name": "f", "description": "d"}}]|type,function,)");
}

TEST_CASE("tools and documents are None when not given, as transformers passes them", "[chat][tools]") {
  const ChatTemplate tmpl = ChatTemplate::from_string("{{ tools is none }} {{ documents is none }} {{ tools is defined }}");
  CHECK(tmpl.apply("[]") == "True True True");
  CHECK(tmpl.apply_json("[]", false) == "True True True");
  ChatOptions options;
  options.tools = "[]";
  CHECK(tmpl.apply("[]", options) == "False True True");
}

TEST_CASE("template variables override the special tokens but not the render's own", "[chat][tools]") {
  const ChatTemplate tmpl = ChatTemplate::from_string("{{ bos_token }}|{{ enable_thinking }}", "<s>");
  ChatOptions options;
  CHECK(tmpl.apply("[]", options) == "<s>|");
  options.variables = R"({"enable_thinking": false, "bos_token": "<B>"})";
  CHECK(tmpl.apply("[]", options) == "<B>|False");
  for (const char* reserved : {"messages", "tools", "documents", "add_generation_prompt"}) {
    options.variables = std::string(R"({")") + reserved + R"(": 1})";
    const auto [code, message] = slim::test::error_of([&] { (void)tmpl.apply("[]", options); });
    CHECK(code == slim::ErrorCode::invalid_argument);
    CHECK_THAT(message, Catch::Matchers::Contains(reserved));
  }
}

TEST_CASE("bad JSON inputs are invalid_argument errors", "[chat][tools][errors]") {
  const ChatTemplate tmpl = ChatTemplate::from_string("x");
  ChatOptions options;
  CHECK(slim::test::error_of([&] { (void)tmpl.apply("{}", options); }).first == slim::ErrorCode::invalid_argument);
  CHECK(slim::test::error_of([&] { (void)tmpl.apply("[", options); }).first == slim::ErrorCode::invalid_argument);
  options.tools = R"({"a": 1})";
  CHECK(slim::test::error_of([&] { (void)tmpl.apply("[]", options); }).first == slim::ErrorCode::invalid_argument);
  options.tools = {};
  options.documents = "3";
  CHECK(slim::test::error_of([&] { (void)tmpl.apply("[]", options); }).first == slim::ErrorCode::invalid_argument);
  options.documents = {};
  options.variables = "[1]";
  CHECK(slim::test::error_of([&] { (void)tmpl.apply("[]", options); }).first == slim::ErrorCode::invalid_argument);
}

TEST_CASE("strftime_now formats ChatOptions::now in UTC", "[chat][tools]") {
  const ChatTemplate tmpl = ChatTemplate::from_string(R"({{ strftime_now("%d %b %Y %H:%M") }})");
  ChatOptions options;
  options.now = fixed_now();
  CHECK(tmpl.apply("[]", options) == "05 Sep 2024 14:30");
  options.now.reset();
  CHECK(tmpl.apply("[]", options).size() == 17);  // the current local time
}
