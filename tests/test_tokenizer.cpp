// Tokenizer behaviour beyond the fixture cases: errors, ill-formed UTF-8, parse_special, added
// token flags, special ids, and the streaming decoder on random id sequences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "slim/error.hpp"
#include "slim/tokenizer.hpp"
#include "test_support.hpp"
#include "tokenizer/utf8.hpp"

namespace {

using slim::EncodeOptions;
using slim::Error;
using slim::ErrorCode;
using slim::Tokenizer;

const Tokenizer& fixture(const std::string& name) {
  static std::map<std::string, Tokenizer> loaded;  // each tokenizer loaded once per program
  auto it = loaded.find(name);
  if (it == loaded.end()) {
    it = loaded.emplace(name, Tokenizer::load(slim::test::shared_dir() / "fixtures" / "tokenizers" / name)).first;
  }
  return it->second;
}

EncodeOptions no_special() {
  EncodeOptions o;
  o.add_special_tokens = false;
  return o;
}

// A tiny tokenizer.json: characters a, b, space, and "ab"; `extra` is spliced into the top level.
std::string tiny_json(const std::string& extra, const std::string& added = "[]") {
  return R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, " ": 2, "ab": 3, "<unk>": 4, "<x>": 5},
            "merges": ["a b"], "unk_token": "<unk>"}, "added_tokens": )" + added +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string added_x(const std::string& flags) {
  return R"([{"id": 5, "content": "<x>", "special": true, "normalized": false, )" + flags + "}]";
}

void require_error(const std::string& json, ErrorCode code, const std::string& needle) {
  try {
    (void)Tokenizer::from_json(json);
    FAIL("no error for " << json);
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
  }
}

std::string stream_all(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip,
                       bool& pieces_valid) {
  auto stream = t.stream_decoder(skip);
  std::string all;
  pieces_valid = true;
  for (const int32_t id : ids) {
    const std::string piece = stream.push(id);
    pieces_valid = pieces_valid && slim::tok::is_valid_utf8(piece);
    all += piece;
  }
  const std::string rest = stream.finish();
  pieces_valid = pieces_valid && slim::tok::is_valid_utf8(rest);
  return all + rest;
}

}  // namespace

TEST_CASE("tokenizer: a tiny tokenizer.json merges and decodes") {
  const Tokenizer t = Tokenizer::from_json(tiny_json(""));
  CHECK(t.encode("ab a") == std::vector<int32_t>{3, 2, 0});
  // Without a decoder Hugging Face joins the tokens with spaces.
  CHECK(t.decode(std::vector<int32_t>{3, 2, 0}) == "ab   a");
  const Tokenizer fused = Tokenizer::from_json(tiny_json(R"("decoder": {"type": "Fuse"})"));
  CHECK(fused.decode(std::vector<int32_t>{3, 2, 0}) == "ab a");
}

TEST_CASE("tokenizer: unsupported components and bad files are errors naming them") {
  require_error(tiny_json(R"("normalizer": {"type": "Bogus"})"), ErrorCode::unsupported, "Bogus");
  require_error(tiny_json(R"("pre_tokenizer": {"type": "BertPreTokenizer"})"), ErrorCode::unsupported,
                "pre_tokenizer type 'BertPreTokenizer'");
  require_error(tiny_json(R"("decoder": {"type": "CTC"})"), ErrorCode::unsupported, "decoder type 'CTC'");
  require_error(tiny_json(R"("post_processor": {"type": "Nope"})"), ErrorCode::unsupported, "Nope");
  require_error(R"({"model": {"type": "Unigram", "vocab": []}})", ErrorCode::invalid_format, "model.vocab");
  require_error(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})", ErrorCode::unsupported, "WordPiece");
  require_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [])", ErrorCode::invalid_format,
                "malformed JSON");
  require_error(tiny_json(R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}})"),
                ErrorCode::unsupported, "(unclosed");
  CHECK_THROWS_AS(Tokenizer::load("/nonexistent/folder"), Error);
}

TEST_CASE("tokenizer: out-of-range ids are errors") {
  const Tokenizer& t = fixture("mistral");
  CHECK(t.vocab_size() == 32000);
  CHECK_THROWS_AS(t.decode(std::vector<int32_t>{1, 32000}), Error);
  CHECK_THROWS_AS(t.decode(std::vector<int32_t>{-1}), Error);
  CHECK_THROWS_AS(t.id_to_token(32000), Error);
  CHECK(t.decode(std::vector<int32_t>{}).empty());
}

TEST_CASE("tokenizer: the stream decoder gives nothing for ids without a token") {
  // A model's embedding may have more rows than the tokenizer has tokens (Qwen2.5, Phi-3).
  const Tokenizer& t = fixture("mistral");
  auto stream = t.stream_decoder();
  const std::vector<int32_t> ids = t.encode("Hello world", {.add_special_tokens = false});
  std::string text;
  for (int32_t id : ids) {
    text += stream.push(id);
    CHECK(stream.push(40000).empty());
    CHECK(stream.push(-1).empty());
  }
  text += stream.finish();
  CHECK(text == t.decode(ids));
}

TEST_CASE("tokenizer: special ids, vocabulary lookups") {
  const Tokenizer& mistral = fixture("mistral");
  CHECK(mistral.bos_id() == 1);
  CHECK(mistral.eos_id() == 2);
  CHECK(mistral.encode("") == std::vector<int32_t>{1});
  CHECK(mistral.is_special(1));
  CHECK_FALSE(mistral.is_special(100));
  CHECK(mistral.token_to_id("<0x0A>") == 13);
  CHECK(mistral.id_to_token(13) == "<0x0A>");
  CHECK_FALSE(mistral.token_to_id("no such token").has_value());

  const Tokenizer& llama3_1 = fixture("llama3_1");
  CHECK(llama3_1.bos_id() == 128000);
  CHECK(llama3_1.eos_id() == 128009);  // <|eot_id|>
  CHECK(llama3_1.vocab_size() == 128256);
  CHECK(llama3_1.id_to_token(9906) == "Hello");

  const Tokenizer& qwen = fixture("qwen2_5");
  CHECK_FALSE(qwen.bos_id().has_value());
  CHECK(qwen.eos_id() == 151645);  // <|im_end|>
  CHECK(qwen.encode("hi") == qwen.encode("hi", no_special()));
}

TEST_CASE("tokenizer: parse_special=false encodes special-token text as plain text") {
  const Tokenizer& t = fixture("llama3");
  const std::string text = "<|begin_of_text|>Hi<|eot_id|>";
  const auto honoured = t.encode(text, no_special());
  CHECK(honoured.front() == 128000);
  CHECK(honoured.back() == 128009);
  EncodeOptions plain = no_special();
  plain.parse_special = false;
  const auto ids = t.encode(text, plain);
  CHECK(ids.size() > 6);
  for (const int32_t id : ids) CHECK_FALSE(t.is_special(id));
  CHECK(t.decode(ids) == text);
}

TEST_CASE("tokenizer: added token lstrip / rstrip / single_word") {
  {
    const Tokenizer t = Tokenizer::from_json(tiny_json("", added_x(R"("lstrip": true, "rstrip": true)")));
    CHECK(t.encode("a <x> b") == std::vector<int32_t>{0, 5, 1});
  }
  {
    const Tokenizer t = Tokenizer::from_json(tiny_json("", added_x(R"("lstrip": false, "rstrip": false)")));
    CHECK(t.encode("a <x> b") == std::vector<int32_t>{0, 2, 5, 2, 1});
    CHECK(t.encode("a<x>b") == std::vector<int32_t>{0, 5, 1});
  }
  {
    const Tokenizer t = Tokenizer::from_json(tiny_json("", added_x(R"("single_word": true)")));
    CHECK(t.encode("a <x> b") == std::vector<int32_t>{0, 2, 5, 2, 1});
    const auto inside = t.encode("a<x>b");  // inside a word: not the added token
    CHECK(std::find(inside.begin(), inside.end(), 5) == inside.end());
  }
}

TEST_CASE("tokenizer: ill-formed UTF-8 input is encoded as bytes") {
  const std::string bad = "a\xff" "b\xe2\x82" "c\xc3";
  {
    const Tokenizer& t = fixture("llama3");  // byte-level: each byte has a token
    const auto ids = t.encode(bad, no_special());
    CHECK(std::find(ids.begin(), ids.end(), *t.token_to_id("\xc3\xbf")) != ids.end());  // ÿ = byte FF
    CHECK(t.decode(ids) == "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd");
  }
  {
    const Tokenizer& t = fixture("mistral");  // byte fallback: <0xNN> tokens
    const auto ids = t.encode(bad, no_special());
    CHECK(std::find(ids.begin(), ids.end(), *t.token_to_id("<0xFF>")) != ids.end());
    CHECK(std::find(ids.begin(), ids.end(), *t.token_to_id("<0xE2>")) != ids.end());
    CHECK(slim::tok::is_valid_utf8(t.decode(ids)));
  }
  {
    const Tokenizer& t = fixture("qwen2_5");  // NFC normalizer around the bad bytes
    const auto ids = t.encode("e\xcc\x81\xff", no_special());
    CHECK(t.decode(ids) == "\xc3\xa9\xef\xbf\xbd");  // é (composed) + U+FFFD
  }
}

TEST_CASE("tokenizer: streaming decoder joins to decode() on random ids") {
  std::mt19937 rng(1234);
  for (const std::string name : {"stories260K", "mistral", "llama3", "qwen2_5"}) {
    const Tokenizer& t = fixture(name);
    std::uniform_int_distribution<int32_t> any(0, t.vocab_size() - 1);
    std::uniform_int_distribution<int32_t> low(0, 300);  // byte tokens and specials
    for (int round = 0; round < 200; ++round) {
      std::vector<int32_t> ids(static_cast<size_t>(round % 23));
      for (auto& id : ids) id = (rng() % 3 == 0) ? low(rng) : any(rng);
      for (const bool skip : {false, true}) {
        bool valid = false;
        INFO(name << " round " << round << " skip " << skip);
        CHECK(stream_all(t, ids, skip, valid) == t.decode(ids, skip));
        CHECK(valid);
      }
    }
  }
}

TEST_CASE("tokenizer: streaming holds back clean-up patterns and partial characters") {
  const Tokenizer& t = fixture("llama3");  // clean_up_tokenization_spaces: true
  const auto ids = t.encode("Hello , world . It 's 😀 do n't !", no_special());
  bool valid = false;
  CHECK(stream_all(t, ids, false, valid) == t.decode(ids));
  CHECK(valid);
  CHECK(t.decode(ids) == "Hello, world. It's 😀 don't!");
}

TEST_CASE("tokenizer: streaming decoder with Metaspace, Strip stop and Replace after Fuse") {
  // stories260K's vocabulary with other decoders, on random ids (byte tokens included).
  const auto dir = slim::test::shared_dir() / "models" / "stories260K";
  nlohmann::json doc = slim::test::read_json(dir / "tokenizer.json");
  const std::vector<nlohmann::json> decoders = {
      {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}},
      {{"type", "Sequence"},
       {"decoders",
        {{{"type", "ByteFallback"}},
         {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"add_prefix_space", true}}}}},
      {{"type", "Sequence"},
       {"decoders",
        {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
         {{"type", "ByteFallback"}},
         {{"type", "Fuse"}},
         {{"type", "Strip"}, {"content", " "}, {"start", 2}, {"stop", 1}}}}},
      {{"type", "Sequence"},
       {"decoders",
        {{{"type", "ByteFallback"}},
         {{"type", "Fuse"}},
         {{"type", "Replace"}, {"pattern", {{"String", "\u2581\u2581"}}}, {"content", "_"}}}}},
  };
  std::mt19937 rng(99);
  for (size_t d = 0; d < decoders.size(); ++d) {
    doc["decoder"] = decoders[d];
    const Tokenizer t = Tokenizer::from_json(doc.dump());
    const int32_t space = *t.token_to_id("\u2581");
    const int32_t once = *t.token_to_id("\u2581O");
    const std::vector<int32_t> spaces = {once, space, space, once, space};
    bool valid_spaces = false;
    CHECK(stream_all(t, spaces, false, valid_spaces) == t.decode(spaces));
    std::uniform_int_distribution<int32_t> any(0, t.vocab_size() - 1);
    for (int round = 0; round < 300; ++round) {
      std::vector<int32_t> ids(static_cast<size_t>(round % 17));
      for (auto& id : ids) id = any(rng);
      bool valid = false;
      INFO("decoder " << d << " round " << round);
      CHECK(stream_all(t, ids, false, valid) == t.decode(ids));
      CHECK(valid);
    }
  }
}

TEST_CASE("tokenizer: long runs of one character class") {
  const Tokenizer& t = fixture("llama3");
  for (const std::string unit : {" ", "a", "7", "\n", "\xc3\xa9", "!?"}) {
    std::string text;
    while (text.size() < 200000) text += unit;
    const auto ids = t.encode(text, no_special());
    CHECK(t.decode(ids) == text);
  }
}

TEST_CASE("tokenizer: malformed tokenizer.json gives slim::Error, never a crash") {
  const auto dir = slim::test::shared_dir() / "models" / "stories260K";
  const std::string text = slim::test::read_file(dir / "tokenizer.json");
  auto only_slim_errors = [](const std::string& json, const std::string& config = {}) {
    try {
      const Tokenizer t = Tokenizer::from_json(json, config);
      (void)t.encode("Hello <s> world\xff");
      return true;
    } catch (const Error&) {
      return true;
    } catch (...) {
      return false;
    }
  };
  for (size_t cut = 0; cut < text.size(); cut += 211) {
    INFO("truncated at " << cut);
    CHECK(only_slim_errors(text.substr(0, cut)));
  }
  // Wrong types in the places the loader reads.
  const std::vector<std::pair<std::string, std::string>> swaps = {
      {"\"type\": \"BPE\"", "\"type\": 5"},
      {"\"vocab\": {", "\"vocab\": 3, \"x\": {"},
      {"\"merges\": [", "\"merges\": [7, "},
      {"\"merges\": [", "\"merges\": [[\"a\"], "},
      {"\"id\": 0", "\"id\": \"zero\""},
      {"\"content\": \"<unk>\"", "\"content\": null"},
      {"\"decoders\": [", "\"decoders\": [4, "},
      {"\"normalizers\": [", "\"normalizers\": {}, \"y\": ["},
      {"\"single\": [", "\"single\": [{\"SpecialToken\": {\"id\": \"<nope>\"}}, "},
      {"\"unk_token\": \"<unk>\"", "\"unk_token\": []"},
      {"\"<0x00>\": 3", "\"<0x00>\": -3"},
      {"\"<0x00>\": 3", "\"<0x00>\": 99999999999"},
  };
  for (const auto& [from, to] : swaps) {
    const size_t at = text.find(from);
    INFO(from << " -> " << to);
    REQUIRE(at != std::string::npos);
    std::string mutated = text;
    mutated.replace(at, from.size(), to);
    CHECK(only_slim_errors(mutated));
  }
  for (const std::string config : {"{", "[]", R"({"bos_token": 5})", R"({"add_bos_token": "yes"})",
                                   R"({"eos_token": {"content": 3}})", R"({"additional_special_tokens": 1})"}) {
    INFO("config " << config);
    CHECK(only_slim_errors(text, config));
  }
}
