// Grammars: GBNF, regex and JSON Schema sources, the byte matcher's accepted and rejected texts,
// token masks on real vocabularies, and seeded random walks through the masks (no dead end).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <random>

#include "slim/error.hpp"
#include "slim/grammar.hpp"
#include "slim/tokenizer.hpp"
#include "slim/generate.hpp"
#include "test_support.hpp"
#include "tiny_models.hpp"
#include "token_walks.hpp"

using slim::test::bit;
using slim::test::random_walks;

namespace {

bool matches(const slim::Grammar& g, std::string_view text) {
  slim::GrammarMatcher m(g);
  return m.accept(text) && m.is_complete();
}

void check_all(const slim::Grammar& g, std::initializer_list<const char*> good, std::initializer_list<const char*> bad) {
  for (const char* t : good) {
    INFO("accepted: " << t);
    CHECK(matches(g, t));
  }
  for (const char* t : bad) {
    INFO("rejected: " << t);
    CHECK_FALSE(matches(g, t));
  }
}

const char* kArithmetic = R"g(root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
)g";

const char* kList = R"g(root ::= item+
# Excludes various line break characters
item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
)g";

const char* kChess = R"g(# Algebraic notation, numbered moves
root   ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n")*
move   ::= (pawn | nonpawn | castle) [+#]?
nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
pawn   ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBKQR])?
castle ::= "O-O" "-O"?
)g";

}  // namespace

TEST_CASE("GBNF: arithmetic, lists and chess moves", "[grammar]") {
  check_all(slim::Grammar::from_gbnf(kArithmetic), {"1+2= 3\n", "(x*y)/2=z\n", "a = b\nc-1=0\n"},
            {"", "1+2=3", "1++2=3\n", "(1=2\n", "X=1\n"});
  check_all(slim::Grammar::from_gbnf(kList), {"- a\n", "- milk\n- \xC3\xA9ggs\n"},
            {"", "- \n", "-a\n", "- a", "- a\u2028b\n"});
  check_all(slim::Grammar::from_gbnf(kChess), {"1. e4 e5\n", "1. e4 e5\n2. Nf3 Nc6\n3. Bb5 a6\n", "1. O-O-O exd8=Q+\n"},
            {"1. e9 e5\n", "1. e4\n", "2. e4 e5\n", "1. Zf3 e5\n"});
}

TEST_CASE("GBNF: repetitions, classes, escapes and comments", "[grammar]") {
  check_all(slim::Grammar::from_gbnf("root ::= \"a\"{2,3} [^x-z]? \"\\u00e9\" . # comment\n"),
            {"aa\xC3\xA9q", "aaab\xC3\xA9\xE2\x82\xAC", "aaa\xC3\xA9\xF0\x9F\x98\x80"},
            {"a\xC3\xA9q", "aaaaa\xC3\xA9q", "aay\xC3\xA9q", "aa\xC3\xA9", "aa\xC3\xA9\xC3"});
  check_all(slim::Grammar::from_gbnf("root ::= x\nx ::= (\"ab\" | \"c\")*\n  | \"z\"\n"), {"", "abc", "cab", "z"},
            {"a", "zz", "abz"});
  check_all(slim::Grammar::from_gbnf("root ::= [a-c]{0,} \"!\"{1}"), {"!", "abcabc!"}, {"", "!!", "d!"});
}

TEST_CASE("GBNF errors have a position and refuse left recursion", "[grammar]") {
  const auto error_of = [](const char* g) {
    try {
      slim::Grammar::from_gbnf(g);
    } catch (const slim::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of("root ::= \"a\n") == "grammar 1:10: unterminated literal");
  CHECK(error_of("root ::= a\n\nb ::= [ab") == "grammar 3:7: unterminated character class");
  CHECK(error_of("root ::= foo") == "grammar rule 'foo' is used but not defined");
  CHECK(error_of("r ::= \"a\"") == "grammar has no rule 'root'");
  CHECK(error_of("root ::= root \"a\" | \"b\"").find("left-recursive") != std::string::npos);
  CHECK(error_of("root ::= x \"a\"\nx ::= \"\" | root").find("left-recursive") != std::string::npos);
  CHECK(error_of("root ::= (\"a\"?)*").find("left-recursive") != std::string::npos);
  CHECK(error_of("root ::= \"a\"{3,2}").find("below its minimum") != std::string::npos);
  CHECK(error_of("root ::= \"a\"{999999} \"b\"{999999}").find("elements") != std::string::npos);
  CHECK(error_of("root ::= * \"a\"").find("follows nothing") != std::string::npos);
}

TEST_CASE("the matcher rolls back, copies, and bounds deep nesting", "[grammar]") {
  const auto g = slim::Grammar::any_json();
  slim::GrammarMatcher m(g);
  CHECK(m.accept("{\"a\":"));
  slim::GrammarMatcher snapshot = m;
  CHECK(m.accept("[1,2]"));
  CHECK_FALSE(m.accept("]"));
  CHECK(m.accept("}"));
  CHECK(m.is_complete());
  CHECK_FALSE(m.can_continue());
  m.rollback(2);
  CHECK_FALSE(m.is_complete());
  CHECK(m.accept("true}"));
  CHECK(m.is_complete());
  CHECK(snapshot.accept("null}"));
  CHECK(snapshot.is_complete());
  // Nesting is bounded: a very deep text is refused, never a crash.
  slim::GrammarMatcher deep(g);
  bool refused = false;
  for (int i = 0; i < 10000 && !refused; ++i) refused = !deep.accept("[");
  CHECK(refused);
  CHECK_THROWS_AS(m.rollback(100), slim::Error);
}

TEST_CASE("any JSON value", "[grammar]") {
  check_all(slim::Grammar::any_json(),
            {"{}", "[]", "0", "-1.5e+10", "\"a\\u00e9\\n\"", "{\"a\":[1,{\"b\":null}],\"c\":true}", "\"\xC3\xA9\""},
            {"", "{", "01", "1.", "{\"a\"}", "[1,]", "\"\x01\"", "{ }", "tru", "\"\\x\""});
}

TEST_CASE("regex", "[grammar]") {
  check_all(slim::Grammar::from_regex("^[a-z]+(-[a-z0-9]+)*\\.(com|org)$"), {"abc.com", "a-b1-c.org"},
            {"abc.net", "-a.com", "abc", "ABC.com"});
  check_all(slim::Grammar::from_regex("\\d{3}-\\d{2,4}|x?y+"), {"123-45", "123-4567", "y", "xyy"},
            {"12-45", "123-45678", "x", ""});
  check_all(slim::Grammar::from_regex("(?:a|b)*c.\\s\\w\\W[^\\d]"), {"abc? a!x", "c\xC3\xA9\tZ x"}, {"abc\n a!x", "c?  a!1"});
  CHECK_THROWS_WITH(slim::Grammar::from_regex("a(b"), "regex column 4: expected ')'");
  CHECK_THROWS_AS(slim::Grammar::from_regex("a\\p{L}"), slim::Error);
  CHECK_THROWS_AS(slim::Grammar::from_regex("a**"), slim::Error);
}

namespace {

// The schemas of the tests: each with texts it must accept and reject.
struct SchemaCase {
  const char* schema;
  std::vector<const char*> good, bad;
};

const std::vector<SchemaCase>& schema_cases() {
  static const std::vector<SchemaCase> cases = {
      {R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 150}},
           "required": ["name"], "additionalProperties": false})",
       {R"({"name":"Ann"})", R"({"name":"Bo","age":42})", R"({"name":"","age":150})"},
       {R"({"age":4})", R"({"name":"x","age":151})", R"({"age":1,"name":"x"})", R"({"name":"x","z":1})", R"({"name":"x","age":-1})"}},
      {R"({"type": "array", "items": {"enum": ["red", "green", 3, null]}, "minItems": 1, "maxItems": 3})",
       {R"(["red"])", R"([3,null,"green"])"}, {"[]", R"(["blue"])", R"([3,3,3,3])"}},
      {R"({"type": "string", "format": "date"})", {R"("2024-02-28")", R"("1999-12-31")"}, {R"("2024-02-30")", R"("2024-13-01")", R"("24-01-01")"}},
      {R"({"type": "string", "format": "date-time"})", {R"("2024-01-01T10:20:30Z")", R"("2024-01-01T23:59:59.5+02:00")"}, {R"("2024-01-01 10:20:30Z")"}},
      {R"({"type": "string", "format": "uuid"})", {R"("123e4567-e89b-12d3-a456-426614174000")"}, {R"("123e4567e89b12d3a456426614174000")"}},
      {R"({"type": "string", "format": "time"})", {R"("23:00:00Z")"}, {R"("24:00:00Z")"}},
      {R"({"type": "string", "pattern": "^[A-Z]{2}-\\d+$"})", {R"("AB-12")"}, {R"("A-1")", R"("AB-")"}},
      {R"({"type": "string", "pattern": "a.b"})", {R"("axb")", "\"a\xC3\xA9" "b\""}, {R"("a"b")", R"("a\b")"}},
      {R"({"type": "string", "minLength": 2, "maxLength": 3})", {R"("ab")", R"("a\nc")"}, {R"("a")", R"("abcd")"}},
      {R"({"type": ["integer", "null"], "minimum": -5, "maximum": 12})", {"-5", "0", "12", "null", "7"}, {"-6", "13", "1.5", "-0"}},
      {R"({"type": "integer", "minimum": 95})", {"95", "100", "123456"}, {"94", "-1", "0"}},
      {R"({"type": "integer", "maximum": -3})", {"-3", "-1000"}, {"-2", "0", "5"}},
      {R"({"anyOf": [{"type": "boolean"}, {"type": "number"}], "description": "x"})", {"true", "-1.5e3"}, {"null", "\"a\""}},
      {R"({"oneOf": [{"const": {"a": [1, "x"]}}, {"type": "null"}]})", {R"({"a":[1,"x"]})", "null"}, {R"({"a":[1]})"}},
      {R"({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"}, "next": {"$ref": "#/$defs/node"}},
           "required": ["v"]}}, "$ref": "#/$defs/node"})",
       {R"({"v":1})", R"({"v":1,"next":{"v":2,"next":{"v":3}}})"}, {R"({"next":{"v":1}})", R"({"v":1,"next":{}})"}},
      {R"({"definitions": {"p": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
           "allOf": [{"$ref": "#/definitions/p"}, {"properties": {"y": {"type": "boolean"}}, "required": ["y"]}]})",
       {R"({"x":1,"y":true})"}, {R"({"x":1})", R"({"y":true})"}},
      {R"({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false})",
       {"[]", R"(["a"])", R"(["a",1])"}, {R"(["a",1,2])", R"([1])"}},
      {R"({"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "boolean"}, "minItems": 2})",
       {R"(["a",true])", R"(["a",true,false])"}, {R"(["a"])", R"(["a",1])"}},
      {R"({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}, "minProperties": 1, "maxProperties": 2})",
       {R"({"a":1})", R"({"b":"x"})", R"({"a":1,"ab":"y"})", R"({"b":"x","c":"y"})"},
       {"{}", R"({"a":1,"b":"x","c":"y"})", R"({"a":"s"})", R"({"a":1,"a":"s"})", R"({"b":1})"}},
      {R"({"type": "object", "additionalProperties": true})", {"{}", R"({"k":[1,{}],"j":null})"}, {"[]"}},
      {R"({"type": "object", "properties": {"p": {}, "q": true}})", {"{}", R"({"p":[null]})", R"({"p":1,"q":"x"})"}, {R"({"q":1,"p":1})"}},
      {R"({"type": "boolean"})", {"true", "false"}, {"1"}},
  };
  return cases;
}

}  // namespace

TEST_CASE("JSON Schema: every supported keyword", "[grammar]") {
  for (const auto& c : schema_cases()) {
    INFO("schema: " << c.schema);
    const auto g = slim::Grammar::from_json_schema(c.schema);
    INFO("gbnf: " << g.gbnf());
    for (const char* t : c.good) {
      INFO("accepted: " << t);
      CHECK(matches(g, t));
    }
    for (const char* t : c.bad) {
      INFO("rejected: " << t);
      CHECK_FALSE(matches(g, t));
    }
  }
}

TEST_CASE("JSON Schema: pretty mode, errors name the keyword and the place", "[grammar]") {
  const auto pretty = slim::Grammar::from_json_schema(
      R"({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}, "b": {"type": "null"}}, "required": ["a", "b"]})",
      {.pretty = true});
  CHECK(matches(pretty, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": null\n}"));
  CHECK(matches(pretty, "{\n  \"a\": [],\n  \"b\": null\n}"));
  CHECK_FALSE(matches(pretty, R"({"a":[],"b":null})"));
  const auto error_of = [](const char* s) {
    try {
      slim::Grammar::from_json_schema(s);
    } catch (const slim::Error& e) {
      return std::string(slim::to_string(e.code())) + ": " + e.what();
    }
    return std::string("no error");
  };
  CHECK(error_of(R"({"type": "object", "properties": {"a": {"type": "string", "contentEncoding": "base64"}}})") ==
        "unsupported: JSON Schema at '#/properties/a': keyword 'contentEncoding' is not supported");
  CHECK(error_of(R"({"type": "number", "minimum": 1})") == "unsupported: JSON Schema at '#': keyword 'minimum' with type 'number'");
  CHECK(error_of(R"({"$ref": "#/$defs/missing"})") == "invalid_format: JSON Schema at '#': $ref '#/$defs/missing' points at nothing");
  CHECK(error_of(R"({"type": "string", "format": "email"})") == "unsupported: JSON Schema at '#/format': format 'email' is not supported");
  CHECK(error_of(R"({"type": "string", "pattern": "a(b"})").find("JSON Schema at '#/pattern': regex column 4") != std::string::npos);
  CHECK(error_of("{\"type\": ") .rfind("invalid_format: JSON Schema is not JSON", 0) == 0);
  CHECK(error_of(R"({"type": "object", "properties": {"a": {}}, "required": ["a", "b"]})").find("'b' has no schema") != std::string::npos);
}

namespace {

struct Vocab {
  std::string name;
  slim::Tokenizer tokenizer;
};

slim::Tokenizer tokenizer_of(const char* folder) {
  return slim::Tokenizer::load(slim::test::shared_dir() / "fixtures" / "tokenizers" / folder);
}

}  // namespace

TEST_CASE("token masks: special tokens never, end-of-sequence only when complete", "[grammar]") {
  const auto tok = tokenizer_of("qwen2_5");
  const int32_t eos = *tok.token_to_id("<|im_end|>");
  slim::TokenMatcher tm(slim::Grammar::from_json_schema(R"({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]})"),
                        tok, {eos});
  auto mask = tm.mask();
  CHECK_FALSE(bit(mask, eos));
  CHECK(bit(mask, *tok.token_to_id("{\"")));
  CHECK(bit(mask, *tok.token_to_id("{")));
  CHECK_FALSE(bit(mask, *tok.token_to_id("[")));
  CHECK_FALSE(bit(mask, *tok.token_to_id("<|endoftext|>")));
  for (const char* t : {"{\"", "ok", "\":", "true", "}"}) {
    REQUIRE(tm.accept_token(*tok.token_to_id(t)));
  }
  mask = tm.mask();
  CHECK(tm.is_complete());
  CHECK(bit(mask, eos));
  size_t count = 0;
  for (const uint64_t w : mask) count += static_cast<size_t>(__builtin_popcountll(w));
  CHECK(count == 1);
  CHECK_FALSE(tm.accept_token(*tok.token_to_id("}")));
  tm.rollback(1);
  CHECK_FALSE(tm.is_complete());
  CHECK(tm.accept_token(*tok.token_to_id("}")));
}

TEST_CASE("random walks through the masks end in valid documents", "[grammar]") {
  for (const char* folder : {"qwen2_5", "stories260K"}) {
    INFO("tokenizer: " << folder);
    const auto tok = tokenizer_of(folder);
    const bool big = std::string(folder) == "qwen2_5";
    for (size_t i = 0; i < schema_cases().size(); ++i) {
      INFO("schema: " << schema_cases()[i].schema);
      const auto g = slim::Grammar::from_json_schema(schema_cases()[i].schema);
      random_walks(g, tok, big ? 30 : 1000, 40, [](const std::string& text) {
        if (!nlohmann::json::accept(text)) FAIL("not JSON: " << text);
      });
    }
  }
}

TEST_CASE("constrained generation: every output is a document of the schema", "[grammar][generate]") {
  slim::test::TempDir tmp;
  const std::vector<std::shared_ptr<const slim::Model>> models = {
      slim::Model::load(slim::test::shared_dir() / "models" / "stories260K", {.threads = 1}),
      slim::Model::load(slim::test::make_qwen_tokenizer_model(tmp.path / "qwen"), {.threads = 1})};
  const std::vector<const char*> schemas = {schema_cases()[0].schema, schema_cases()[1].schema, schema_cases()[14].schema,
                                            schema_cases()[18].schema, schema_cases()[2].schema};
  int runs = 0, finished = 0;
  for (const auto& model : models) {
    for (const char* schema : schemas) {
      INFO("schema: " << schema);
      const auto g = slim::Grammar::from_json_schema(schema);
      for (int seed = 0; seed < 6; ++seed) {
        slim::Session session(model);
        slim::GenerateOptions options{.max_tokens = 200, .grammar = g};
        if (seed > 0) options.sampler = {.temperature = 1.0f, .top_k = 40, .seed = static_cast<uint64_t>(seed)};
        std::string streamed;
        const auto r = slim::generate(session, "Once upon a time", options, [&](std::string_view t) {
          streamed += t;
          return true;
        });
        INFO("text: " << r.text);
        CHECK(streamed == r.text);
        ++runs;
        if (r.stop_reason == slim::StopReason::max_tokens) continue;
        ++finished;  // a long string: cut off, not wrong
        CHECK((r.stop_reason == slim::StopReason::eos || r.stop_reason == slim::StopReason::grammar));
        CHECK(nlohmann::json::accept(r.text));
        CHECK(matches(g, r.text));
        if (seed == 0) {  // greedy is deterministic
          slim::Session again(model);
          CHECK(slim::generate(again, "Once upon a time", options).tokens == r.tokens);
        }
      }
    }
  }
  CHECK(slim::Grammar::from_regex("(yes|no)").gbnf() == "root ::= ((\"y\" \"e\" \"s\" | \"n\" \"o\"))\n");
  CHECK(finished * 2 >= runs);  // most runs end their document within max_tokens
}

TEST_CASE("token masks on a shared vocabulary equal a matcher's own, for two grammars at once", "[grammar]") {
  const auto tok = tokenizer_of("qwen2_5");
  const int32_t eos = *tok.token_to_id("<|im_end|>");
  const slim::TokenVocabulary shared(tok);
  CHECK(shared.vocab_size() == tok.vocab_size());
  const auto g1 = slim::Grammar::from_json_schema(R"({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})");
  const auto g2 = slim::Grammar::from_regex("(yes|no)!");
  slim::TokenMatcher alone(g1, tok, {eos}), on_shared(g1, shared, {eos}), other(g2, shared, {eos});
  for (const char* t : {"{\"", "n", "\":", "1", "2", "}"}) {
    const auto a = alone.mask();
    const std::vector<uint64_t> copy(a.begin(), a.end());
    const auto b = on_shared.mask();
    CHECK(std::equal(copy.begin(), copy.end(), b.begin(), b.end()));
    (void)other.mask();  // another grammar on the same vocabulary meanwhile
    const int32_t id = *tok.token_to_id(t);
    REQUIRE(alone.accept_token(id));
    REQUIRE(on_shared.accept_token(id));
  }
  CHECK(on_shared.is_complete());
  CHECK(bit(on_shared.mask(), eos));
  CHECK(other.accept_token(*tok.token_to_id("yes")));
}
