// Chat templates: every fixture case of ../shared/fixtures/chat rendered byte for byte as Hugging
// Face renders it, the same templates loaded from the tokenizer folders, the built-in templates,
// the Jinja subset, and the error and limit paths.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "slim/chat_template.hpp"
#include "slim/error.hpp"
#include "test_support.hpp"

namespace {

using slim::ChatMessage;
using slim::ChatTemplate;
using slim::ErrorCode;
using slim::test::error_of;

const char* const kFixtures[] = {"llama3", "llama3_1", "qwen2_5", "qwen3", "gemma3"};

std::string render(std::string_view source, std::string_view messages_json = "[]", bool add_generation_prompt = false) {
  return ChatTemplate::from_string(source).apply_json(messages_json, add_generation_prompt);
}


void check_case(const ChatTemplate& tmpl, const nlohmann::json& c, const std::string& label) {
  INFO(label);
  const std::string messages = c["messages"].dump();
  const bool agp = c["add_generation_prompt"].get<bool>();
  if (c.contains("error") && c["error"].is_string()) {
    const auto [code, message] = error_of([&] { (void)tmpl.apply_json(messages, agp); });
    CHECK(code == ErrorCode::template_error);
    CHECK(message == c["error"].get<std::string>());
    return;
  }
  const std::string expected = c["rendered"].get<std::string>();
  CHECK(tmpl.apply_json(messages, agp) == expected);
  // Plain {role, content} conversations render the same through the ChatMessage API.
  std::vector<ChatMessage> plain;
  for (const auto& m : c["messages"]) plain.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  CHECK(tmpl.apply(plain, agp) == expected);
}

}  // namespace

TEST_CASE("every chat fixture case renders exactly as Hugging Face's renderer", "[chat][fixtures]") {
  int cases = 0;
  for (const char* name : kFixtures) {
    const auto fixture = slim::test::read_json(slim::test::shared_dir() / "fixtures" / "chat" / (std::string(name) + ".json"));
    REQUIRE(fixture["cases"].size() == 12);
    for (std::size_t i = 0; i < fixture["cases"].size(); ++i) {
      const auto& c = fixture["cases"][i];
      const ChatTemplate tmpl = ChatTemplate::from_string(fixture["chat_template"].get<std::string>(),
                                                          c["bos_token"].get<std::string>(), c["eos_token"].get<std::string>());
      check_case(tmpl, c, std::string(name) + " case " + std::to_string(i));
      ++cases;
    }
  }
  CHECK(cases == 60);
}

TEST_CASE("templates loaded from the tokenizer folders render the fixture cases", "[chat][fixtures]") {
  for (const char* name : kFixtures) {
    const auto fixture = slim::test::read_json(slim::test::shared_dir() / "fixtures" / "chat" / (std::string(name) + ".json"));
    const ChatTemplate tmpl = ChatTemplate::load(slim::test::shared_dir() / "fixtures" / "tokenizers" / name);
    for (std::size_t i = 0; i < fixture["cases"].size(); ++i) {
      const auto& c = fixture["cases"][i];
      CHECK(tmpl.bos_token() == c["bos_token"].get<std::string>());
      CHECK(tmpl.eos_token() == c["eos_token"].get<std::string>());
      check_case(tmpl, c, std::string("loaded ") + name + " case " + std::to_string(i));
    }
  }
}

TEST_CASE("the gemma3 template raises its alternation error with the exact message", "[chat][errors]") {
  const auto fixture = slim::test::read_json(slim::test::shared_dir() / "fixtures" / "chat" / "gemma3.json");
  const ChatTemplate tmpl = ChatTemplate::from_string(fixture["chat_template"].get<std::string>(), "<bos>");
  const auto [code, message] = error_of([&] {
    (void)tmpl.apply_json(R"([{"role":"user","content":"a"},{"role":"user","content":"b"}])", true);
  });
  CHECK(code == ErrorCode::template_error);
  CHECK(message == "Conversation roles must alternate user/assistant/user/assistant/...");
}

TEST_CASE("qwen templates render tool definitions and tool calls", "[chat][tools]") {
  const auto fixture = slim::test::read_json(slim::test::shared_dir() / "fixtures" / "chat" / "qwen2_5.json");
  const ChatTemplate tmpl = ChatTemplate::from_string(fixture["chat_template"].get<std::string>(), "", "<|im_end|>");
  const std::string tools =
      R"([{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])";
  const std::string messages =
      R"([{"role":"user","content":"Weather in Zürich?"},)"
      R"({"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":{"city":"Zürich"}}}]},)"
      R"({"role":"tool","content":"{\"temp\": 21}"}])";
  // Expected text from transformers' apply_chat_template (Python Jinja2) on the same input.
  const std::string expected =
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n"
      "You may call one or more functions to assist with the user query.\n\n"
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
      R"({"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})"
      "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
      "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
      "</tool_call><|im_end|>\n"
      "<|im_start|>user\nWeather in Zürich?<|im_end|>\n"
      "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n"
      "<|im_start|>assistant\n";
  CHECK(tmpl.apply_json(messages, true, tools) == expected);
}

TEST_CASE("qwen3 drops old reasoning, keeps the last turn's and renders string tool arguments", "[chat][tools]") {
  const auto fixture = slim::test::read_json(slim::test::shared_dir() / "fixtures" / "chat" / "qwen3.json");
  const ChatTemplate tmpl = ChatTemplate::from_string(fixture["chat_template"].get<std::string>(), "", "<|im_end|>");
  const std::string messages =
      R"([{"role":"user","content":"q"},{"role":"assistant","content":"<think>\nold\n</think>\n\nfirst"},)"
      R"({"role":"user","content":"w?"},{"role":"assistant","content":"<think>\nplan\n</think>\n\ncalling","tool_calls":)"
      R"([{"function":{"name":"f","arguments":"{\"x\": 2}"}},{"name":"g","arguments":{"y":[1,2]}}]},)"
      R"({"role":"tool","content":"r"}])";
  // Expected text from Python's Jinja2 configured as transformers configures it.
  CHECK(tmpl.apply_json(messages, true) ==
        "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nfirst<|im_end|>\n<|im_start|>user\nw?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\nplan\n</think>\n\ncalling\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 2}}\n"
        "</tool_call>\n<tool_call>\n{\"name\": \"g\", \"arguments\": {\"y\": [1, 2]}}\n</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\nr\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("qwen3 honours enable_thinking passed as an extra variable", "[chat][tools]") {
  const auto fixture = slim::test::read_json(slim::test::shared_dir() / "fixtures" / "chat" / "qwen3.json");
  const ChatTemplate tmpl = ChatTemplate::from_string(fixture["chat_template"].get<std::string>(), "", "<|im_end|>");
  const std::string messages = R"([{"role":"user","content":"Hi"}])";
  CHECK(tmpl.apply_json(messages, true) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(tmpl.apply_json(messages, true, {}, R"({"enable_thinking": false})") ==
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST_CASE("built-in templates have their documented formats", "[chat][builtin]") {
  const std::vector<ChatMessage> conversation = {
      {"system", "Be brief."}, {"user", "Hi"}, {"assistant", " Hello! "}, {"user", "Bye"}};
  SECTION("chatml") {
    const auto t = ChatTemplate::builtin("chatml");
    CHECK(t.apply(conversation, true) ==
          "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
          "<|im_start|>assistant\n Hello! <|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
    CHECK(t.apply(std::span(conversation).subspan(1, 1), false) == "<|im_start|>user\nHi<|im_end|>\n");
  }
  SECTION("gemma") {
    const auto t = ChatTemplate::builtin("gemma", "<bos>", "<eos>");
    CHECK(t.apply(conversation, true) ==
          "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
          "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
    const std::vector<ChatMessage> bad = {{"user", "a"}, {"user", "b"}};
    const auto [code, message] = error_of([&] { (void)t.apply(bad, true); });
    CHECK(code == ErrorCode::template_error);
    CHECK(message == "Conversation roles must alternate user/assistant/user/assistant/...");
  }
  SECTION("llama3") {
    const auto t = ChatTemplate::builtin("llama3", "<|begin_of_text|>");
    CHECK(t.apply(conversation, true) ==
          "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
          "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
          "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\n");
  }
  SECTION("phi3") {
    const auto t = ChatTemplate::builtin("phi3");
    CHECK(t.apply(conversation, true) ==
          "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n Hello! <|end|>\n<|user|>\nBye<|end|>\n"
          "<|assistant|>\n");
  }
  SECTION("the llama3 built-in matches Llama 3.1's own template on every fixture case") {
    const auto fixture = slim::test::read_json(slim::test::shared_dir() / "fixtures" / "chat" / "llama3_1.json");
    for (const auto& c : fixture["cases"]) {
      const auto t = ChatTemplate::builtin("llama3", c["bos_token"].get<std::string>());
      CHECK(t.apply_json(c["messages"].dump(), c["add_generation_prompt"].get<bool>()) == c["rendered"].get<std::string>());
    }
  }
  SECTION("unknown names list the available ones") {
    const auto [code, message] = error_of([] { (void)ChatTemplate::builtin("vicuna"); });
    CHECK(code == ErrorCode::invalid_argument);
    CHECK(message.find("vicuna") != std::string::npos);
    CHECK(message.find("chatml, gemma, llama3, phi3") != std::string::npos);
  }
}

TEST_CASE("folders without a chat template fall back by model_type", "[chat][builtin]") {
  const auto models = slim::test::shared_dir() / "fixtures" / "models";
  const std::vector<ChatMessage> hi = {{"user", "Hi"}};
  // The tiny llama fixture has a 256-token vocabulary, so it is not Llama 3: ChatML (SmolLM2 style).
  CHECK(ChatTemplate::load(models / "llama").apply(hi, true) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(ChatTemplate::load(models / "qwen2").apply(hi, true) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(ChatTemplate::load(models / "gemma2").apply(hi, true) == "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  CHECK(ChatTemplate::load(models / "phi3").apply(hi, true) == "<|user|>\nHi<|end|>\n<|assistant|>\n");
  // stories260K carries a tokenizer_config.json without chat_template: bos/eos come from it.
  const auto stories = ChatTemplate::load(slim::test::shared_dir() / "models" / "stories260K");
  CHECK(stories.bos_token() == "<s>");
  CHECK(stories.apply(hi, false) == "<|im_start|>user\nHi<|im_end|>\n");
  const auto [code, message] = error_of([&] { (void)ChatTemplate::load(models / "mixtral"); });
  CHECK(code == ErrorCode::template_error);
  CHECK(message.find("mixtral") != std::string::npos);
}

TEST_CASE("the Jinja subset renders as Python's Jinja2 does", "[chat][jinja]") {
  // Expected values were produced by jinja2 3.1 with trim_blocks=True, lstrip_blocks=True.
  CHECK(render("{{ 'a' + 'b' ~ 1 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 7 / 2 }}|{{ 2 ** 10 }}") == "ab1|3|-4|2|3.5|1024");
  CHECK(render("{{ [1, 2, 3][-1] }}{{ 'héllo'[1] }}{{ 'abcdef'[::-1] }}{{ 'abcdef'[1:4] }}{{ [1,2,3,4,5][::2] }}") ==
        "3éfedcbabcd[1, 3, 5]");
  CHECK(render("{{ 1 if true else 2 }}{{ 'x' if false }}{{ none }}{{ true }}{{ 1.0 }}{{ 0.1 + 0.2 }}") ==
        "1NoneTrue1.00.30000000000000004");
  CHECK(render("{{ 'b' in 'abc' }}{{ 2 not in [1, 2] }}{{ 'k' in {'k': 1} }}{{ not 0 and 3 or 4 }}") == "TrueFalseTrue3");
  CHECK(render("{{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}"
               "{{ [] is iterable }}{{ [] is sequence }}{{ 1.5 is number }}{{ true is true }}{{ 0 is false }}") ==
        "FalseTrueTrueTrueTrueTrueTrueTrueTrueFalse");
  CHECK(render("{{ x }}{% if x %}yes{% else %}no{% endif %}{{ x | default('d') }}{{ '' | default('e', true) }}") == "nod" "e");
  // A missing attribute or key is Undefined; an attribute of an Undefined raises, as in Jinja2.
  CHECK(render("{{ {'a': 1}.b }}{{ {'a': 1}['b'] is defined }}{{ none.x is defined }}") == "FalseFalse");
  CHECK(error_of([] { (void)render("{{ x.y }}"); }).second == "chat template error at line 1: 'x' is undefined");
  CHECK(error_of([] { (void)render("{{ {'a': 1}.b.c }}"); }).second ==
        "chat template error at line 1: 'dict object' has no attribute 'b'");
  CHECK(render("{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}") ==
        "10TrueFalse3;21FalseFalse3;32FalseTrue3;");
  CHECK(render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.index }}{{ loop.last }}{% endfor %}") == "21False42True");
  CHECK(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}") == "a=1,b=2,");
  CHECK(render("{% for k, v in {'a': 1} | items %}{{ k }}{{ v }}{% endfor %}{% for k in {'z': 0} %}{{ k }}{% endfor %}") == "a1z");
  CHECK(render("{% for x in [] %}a{% else %}empty{% endfor %}{% for x in undefined_list %}b{% endfor %}") == "empty");
  CHECK(render("{% for x in range(5) %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}") == "02");
  CHECK(render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}") == "1");
  CHECK(render("{% set ns = namespace(x=1, y='a') %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}{{ ns.y }}") == "4a");
  CHECK(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c %}in{{ a }}{% endset %}[{{ c }}]") == "12[in1]");
  CHECK(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }}") ==
        "Hi A! Hi B?");
  CHECK(render("{{ ' a b ' | trim }}|{{ 'ab' | upper }}{{ 'AB' | lower }}|{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}") ==
        "a b|ABab|Hello World|Hello");
  CHECK(render("{{ [1, 2] | length }}{{ 'héllo' | length }}{{ {'a': 1} | length }}{{ [3, 4] | first }}{{ [3, 4] | last }}"
               "{{ ['a', 'b'] | join(', ') }}{{ 'abc' | list }}{{ 42 | string }}{{ '12' | int + 1 }}{{ 'x' | int }}") ==
        "2513" "4a, b['a', 'b', 'c']42130");
  CHECK(render("{{ 'aXbX' | replace('X', '-') }}{{ 'aXbX'.replace('X', '') }}") == "a-b-ab");
  CHECK(render("{{ [{'a': 1, 'n': 'x'}, {'a': 0, 'n': 'y'}, {'n': 'z'}] | selectattr('a') | map(attribute='n') | join }}"
               "{{ [{'a': 1, 'n': 'x'}, {'a': 0, 'n': 'y'}] | rejectattr('a') | map(attribute='n') | list }}"
               "{{ [{'t': 'u'}, {'t': 'v'}] | selectattr('t', 'equalto', 'v') | list | length }}") == "x['y']1");
  CHECK(render("{{ 'abc'.startswith('a') }}{{ 'abc'.endswith(('x', 'c')) }}{{ 'a,b,,c'.split(',') }}{{ ' a  b '.split() }}"
               "{{ 'x</t>y'.split('</t>')[-1] }}{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}{{ 'ab cd'.title() }}") ==
        "TrueTrue['a', 'b', '', 'c']['a', 'b']yABabAb Cd");
  CHECK(render("{{ {'a': 1}.get('a') }}{{ {'a': 1}.get('b') }}{{ {'a': 1}.get('b', 2) }}{{ {'a': 1, 'b': 2}.keys() | list }}"
               "{{ {'a': 1}.values() | list }}") == "1None2['a', 'b'][1]");
  CHECK(render("{{ {'b': [1, 'é', none, true, 1.5], 'a': {}} | tojson }}|{{ [] | tojson }}|{{ '\"\\n' | tojson }}") ==
        "{\"b\": [1, \"é\", null, true, 1.5], \"a\": {}}|[]|\"\\\"\\n\"");
  CHECK(render("{{ {'a': [1, 2], 'b': {}} | tojson(indent=2) }}") == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}");
  CHECK(render("{{ 'é' | tojson(ensure_ascii=true) }}{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}") == "\"\\u00e9\"{\"a\": 2, \"b\": 1}");
}

TEST_CASE("Jinja2's generators, Markup, Undefined and errors, as real templates meet them", "[chat][jinja]") {
  // Expected values and messages from jinja2 3.1.6 set up as transformers does.
  const auto error = [](std::string_view source) {
    const auto [code, message] = error_of([&] { (void)render(source); });
    CHECK(code == ErrorCode::template_error);
    return message.substr(message.find(": ") + 2);  // after "chat template error at line N"
  };
  // map / select / ... return generators: no len(), not JSON, always true; nothing from None.
  CHECK(error("{{ [1, 2] | select | length }}") == "object of type 'generator' has no len()");
  CHECK(error("{{ [1, 2] | map('string') | tojson }}") == "Object of type generator is not JSON serializable");
  CHECK(render("{% if [] | select %}true{% endif %}|{{ [] | select | list | length }}|{{ [3, 1] | reverse | list }}|"
               "{{ [1, 2] | select | first }}") == "true|0|[1, 3]|1");
  CHECK(render("{{ none | selectattr('type', 'equalto', 'x') | list | length }}{{ none | map(attribute='a') | list }}"
               "{{ 0 | reject | list }}") == "0[][]");
  CHECK(error("{{ none | list }}") == "'NoneType' object is not iterable");
  CHECK(error("{{ none | length }}") == "object of type 'NoneType' has no len()");
  CHECK(error("{{ none | items | list }}") == "Can only get item pairs from a mapping.");
  CHECK(error("{{ none | dictsort }}") == "'NoneType' object has no attribute 'items'");
  CHECK(error("{{ x | dictsort }}") == "'x' is undefined");
  CHECK(error("{{ x | tojson }}") == "Object of type Undefined is not JSON serializable");
  CHECK(render("{{ {'b': 1, 'A': 2, 'a': 3} | dictsort }}{{ ['A', 'a', 'b'] | unique | list }}{{ {'a': 1} | items | list }}"
               "{{ (1,) }}") == "[('A', 2), ('a', 3), ('b', 1)]['A', 'b'][('a', 1)](1,)");
  // Python's + on str and list.
  CHECK(error("{{ 'a' + 1 }}") == "can only concatenate str (not \"int\") to str");
  CHECK(error("{{ 'a' + none }}") == "can only concatenate str (not \"NoneType\") to str");
  CHECK(error("{{ [1] + 'a' }}") == "can only concatenate list (not \"str\") to list");
  CHECK(error("{{ none + 'a' }}") == "unsupported operand type(s) for +: 'NoneType' and 'str'");
  // `safe` makes Markup, which HTML-escapes the plain strings added to it (Functionary v3.1).
  CHECK(render("{{ '<b>' | safe + '<i>' }}|{{ '\"q\"' + \"'\" | safe }}") == "<b>&lt;i&gt;|&#34;q&#34;'");
  CHECK(render("{{ '<' | safe ~ '<' }}|{{ ('<' | safe) | upper + '<' }}|{{ '<' | safe | tojson }}") == "<<|<&lt;|\"<\"");
  CHECK(error("{{ 'x' | safe + 1 }}") == "unsupported operand type(s) for +: 'Markup' and 'int'");
  // x.name finds a dict's methods before its keys; missing ones are Undefined with Jinja2's hint.
  CHECK(render("{{ {'items': [1]}.items is callable }}{{ {'items': [1]}.items() | list }}{{ {'items': [1]}['items'] }}") ==
        "True[('items', [1])][1]");
  CHECK(render("{{ none.a }}{{ none.a is defined }}|{{ [1][5] is defined }}|{{ 'ab'[5] is defined }}") == "False|False|False");
  CHECK(error("{% for i in [1] %}{{ loop.previtem.a }}{% endfor %}") == "there is no previous item");
  CHECK(error("{{ [][0]['content'] }}") == "list object has no element 0");
  CHECK(error("{% macro m(a) %}{{ a.b }}{% endmacro %}{{ m() }}") == "parameter 'a' was not provided");
  // {% filter %} blocks.
  CHECK(render("{% filter upper %}a{{ 'b' }}{% endfilter %}|{% filter trim | replace('a', 'o') %}  aa  {% endfilter %}|"
               "{% for i in [1, 2] %}{% filter upper %}x{% break %}{% endfilter %}y{% endfor %}") == "AB|oo|");
}

TEST_CASE("whitespace control follows trim_blocks, lstrip_blocks and the '-' markers", "[chat][jinja]") {
  CHECK(render("{% if true %}\n  a\n{% endif %}\n") == "  a\n");
  CHECK(render("x\n    {% if true %}\ny\n    {% endif %}\nz") == "x\ny\nz");
  CHECK(render("a  {%- if true -%}  b  {%- endif -%}  c") == "abc");
  CHECK(render("a  {{- 'b' -}}  c {{ 'd' }}\n e") == "abc d\n e");
  CHECK(render("a {# note #}\nb\n  {#- x -#}  c") == "a bc");
  CHECK(render("  {{ 'v' }}\n") == "  v");
  CHECK(render("{% if true +%}\nkeep{% endif %}") == "\nkeep");
}

TEST_CASE("syntax errors name the line and column", "[chat][errors]") {
  const auto check = [](std::string_view source, const std::string& where, const std::string& what) {
    const auto [code, message] = error_of([&] { (void)ChatTemplate::from_string(source); });
    INFO(message);
    CHECK(code == ErrorCode::template_error);
    CHECK(message.find(where) != std::string::npos);
    CHECK(message.find(what) != std::string::npos);
  };
  check("hello\n{% if x %}\nno end", "end of template", "'endif'");
  check("line1\n  {{ 1 + }}", "line 2, column 10", "unexpected");
  check("{% for x in %}{% endfor %}", "line 1, column 13", "unexpected");
  check("{{ 'abc }}", "line 1, column 4", "unterminated string");
  check("ab\n{{ x @ y }}", "line 2, column 6", "unexpected character '@'");
  check("{% include 'x' %}", "line 1, column 4", "unsupported tag 'include'");
  check("{% endfor %}", "line 1, column 4", "unexpected 'endfor'");
  check("{# open comment", "line 1, column 1", "unterminated comment");
  check("{{ x ", "line 1, column 1", "unterminated");
  check("{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}", "line 1", "nested too deeply");
}

TEST_CASE("runtime errors and limits raise slim::Error", "[chat][errors][limits]") {
  SECTION("raise_exception carries exactly its message") {
    const auto [code, message] = error_of([] { (void)render("a{{ raise_exception('Only user and assistant roles!') }}"); });
    CHECK(code == ErrorCode::template_error);
    CHECK(message == "Only user and assistant roles!");
  }
  SECTION("type errors name the line") {
    const auto [code, message] = error_of([] { (void)render("\n\n{{ 1 - 'a' }}"); });
    CHECK(code == ErrorCode::template_error);
    CHECK(message.find("line 3") != std::string::npos);
  }
  SECTION("arithmetic on undefined fails like Jinja's Undefined") {
    const auto [code, message] = error_of([] { (void)render("{{ missing + 1 }}"); });
    CHECK(code == ErrorCode::template_error);
    CHECK(message.find("'missing' is undefined") != std::string::npos);
  }
  SECTION("huge loops hit max_loop_iterations") {
    const auto [code, message] = error_of([] { (void)render("{% for i in range(1000000000000) %}x{% endfor %}"); });
    CHECK(code == ErrorCode::limit_exceeded);
    CHECK(message.find("max_loop_iterations") != std::string::npos);
    auto nested = ChatTemplate::from_string("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}");
    slim::ChatTemplateLimits limits;
    limits.max_loop_iterations = 100'000;
    nested.set_limits(limits);
    CHECK(error_of([&] { (void)nested.apply_json("[]", false); }).first == ErrorCode::limit_exceeded);
  }
  SECTION("runaway recursion hits max_call_depth") {
    const auto [code, message] = error_of([] { (void)render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"); });
    CHECK(code == ErrorCode::limit_exceeded);
    CHECK(message.find("max_call_depth") != std::string::npos);
  }
  SECTION("output growth hits max_output_bytes, and the caller can raise the limits") {
    const std::string doubling =
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}";
    const auto [code, message] = error_of([&] { (void)render(doubling); });
    CHECK(code == ErrorCode::limit_exceeded);
    CHECK(message.find("max_output_bytes") != std::string::npos);

    auto t = ChatTemplate::from_string("{% for i in range(n) %}ab{% endfor %}");
    slim::ChatTemplateLimits limits;
    limits.max_output_bytes = 10;
    t.set_limits(limits);
    CHECK(t.apply_json("[]", false, {}, R"({"n": 5})") == "ababababab");
    CHECK(error_of([&] { (void)t.apply_json("[]", false, {}, R"({"n": 6})"); }).first == ErrorCode::limit_exceeded);
    limits.max_output_bytes = 100;
    limits.max_loop_iterations = 20;
    t.set_limits(limits);
    CHECK(t.apply_json("[]", false, {}, R"({"n": 20})").size() == 40);
    CHECK(error_of([&] { (void)t.apply_json("[]", false, {}, R"({"n": 21})"); }).first == ErrorCode::limit_exceeded);
  }
  SECTION("building strings piece by piece is bounded by max_total_bytes") {
    const std::string growing =
        "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = ns.s + '0123456789abcdef' %}{% endfor %}"
        "{{ ns.s | length }}";
    const auto [code, message] = error_of([&] { (void)render(growing); });
    CHECK(code == ErrorCode::limit_exceeded);
    CHECK(message.find("max_total_bytes") != std::string::npos);
    CHECK(error_of([] {
            (void)render("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ns.l + [i] %}{% endfor %}");
          }).first == ErrorCode::limit_exceeded);
  }
  SECTION("deep and self-referencing values are refused instead of overflowing the stack") {
    const auto deep = error_of([] {
      (void)render("{% set ns = namespace(x=0) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}");
    });
    CHECK(deep.first == ErrorCode::limit_exceeded);
    CHECK(deep.second.find("nested deeper") != std::string::npos);
    const auto cyclic = error_of([] { (void)render("{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns }}"); });
    CHECK(cyclic.first == ErrorCode::limit_exceeded);
    CHECK(render("{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns.me.me.a }}") == "1");
  }
  SECTION("malformed JSON input is an invalid_argument error") {
    const auto t = ChatTemplate::builtin("chatml");
    CHECK(error_of([&] { (void)t.apply_json("[{", true); }).first == ErrorCode::invalid_argument);
    CHECK(error_of([&] { (void)t.apply_json("{}", true); }).first == ErrorCode::invalid_argument);
  }
}

// Templates that would run forever or without bound in Jinja stop with limit_exceeded (issue 7):
// every way to repeat work is metered, not only {% for %}.
TEST_CASE("runaway templates stop with limit_exceeded", "[chat][limits]") {
  const auto runaway = [](std::string_view source) {
    const auto [code, message] = error_of([&] { (void)render(source); });
    INFO(source << " -> " << message);
    CHECK(code == ErrorCode::limit_exceeded);
    return message;
  };
  SECTION("a loop of 10**9 iterations") {
    CHECK(runaway("{% for i in range(10**9) %}{% endfor %}").find("max_loop_iterations") != std::string::npos);
    runaway("{{ range(10**9) | list | length }}");
    runaway("{{ range(10**9) | join(',') }}");
  }
  SECTION("exponential recursion without output or loops") {
    CHECK(runaway("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}")
              .find("max_macro_calls") != std::string::npos);
    runaway("{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(0) }}");
  }
  SECTION("string and list repetition") {
    runaway("{{ 'x' * 10**12 }}");
    runaway("{{ ([0] * 10**9) | length }}");
    runaway("{{ ('ab' * 4000000) | replace('', '--') | length }}");  // 8 MB in, 24 MB out
  }
}
