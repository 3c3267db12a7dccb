// Tokenizers read from GGUF files' tokenizer.ggml.* keys, against the ids Hugging Face's own
// tokenizer gives: every text of every ../shared/fixtures/gguf/vocab/*.inp must give exactly the
// ids of its .out (add_special_tokens=False), read from the file and from the tokenizer.json a
// GGUF model saved as a folder gets.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "io/gguf.hpp"
#include "slim/tokenizer.hpp"
#include "test_support.hpp"
#include "tokenizer/gguf_tokenizer.hpp"
#include "tokenizer/tokenizer_json.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> texts_of(const fs::path& inp) {
  const std::string all = slim::test::read_file(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t begin = 0;
  for (size_t at; (at = all.find(sep, begin)) != std::string::npos; begin = at + sep.size()) {
    out.push_back(all.substr(begin, at - begin));
  }
  return out;
}

std::vector<std::vector<int32_t>> ids_of(const fs::path& out) {
  std::istringstream in(slim::test::read_file(out));
  std::vector<std::vector<int32_t>> all;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<int32_t> ids;
    for (int32_t id; words >> id;) ids.push_back(id);
    all.push_back(std::move(ids));
  }
  return all;
}

std::string show(const std::vector<int32_t>& ids) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? " " : "") << ids[i];
  s << "]";
  return s.str();
}

// The tokenizer of the folder Model::save makes of a GGUF model: the keys as tokenizer.json text
// and tokenizer_config.json, read back as any folder's.
slim::Tokenizer saved_as_folder(const fs::path& gguf) {
  const slim::tok::GgufTokenizer t = slim::tok::tokenizer_from_gguf(slim::io::GgufFile::open(gguf, true));
  return slim::Tokenizer::from_json(slim::tok::tokenizer_json_text(t.file), t.config.dump());
}

}  // namespace

TEST_CASE("gguf tokenizer: every vocab fixture gives Hugging Face's ids") {
  const fs::path dir = slim::test::shared_dir() / "fixtures" / "gguf" / "vocab";
  const char* name = GENERATE("llama-spm", "phi-3", "gpt-2", "starcoder", "refact", "deepseek-coder", "deepseek-llm",
                              "falcon", "mpt");
  const fs::path file = dir / ("ggml-vocab-" + std::string(name) + ".gguf");
  INFO(file.string());
  const bool folder = GENERATE(false, true);
  INFO((folder ? "saved as a folder" : "from the file"));
  const slim::Tokenizer tok = folder ? saved_as_folder(file) : slim::Tokenizer::from_gguf(file);
  const auto texts = texts_of(file.string() + ".inp");
  const auto expected = ids_of(file.string() + ".out");
  REQUIRE(texts.size() == expected.size());
  REQUIRE(texts.size() > 30);
  int failures = 0;
  std::string details;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tok.encode(texts[i], {.add_special_tokens = false});
    if (ids == expected[i]) continue;
    if (++failures <= 4) {
      details += "text " + std::to_string(i) + " " + nlohmann::json(texts[i]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                 "\n  expected " + show(expected[i]) + "\n  got      " + show(ids) + "\n";
    }
  }
  INFO(details);
  CHECK(failures == 0);
}

TEST_CASE("gguf tokenizer: special tokens, bos and eos") {
  const fs::path dir = slim::test::shared_dir() / "fixtures" / "gguf" / "vocab";
  const slim::Tokenizer spm = slim::Tokenizer::from_gguf(dir / "ggml-vocab-llama-spm.gguf");
  CHECK(spm.bos_id() == 1);
  CHECK(spm.eos_id() == 2);
  CHECK(spm.is_special(1));
  CHECK_FALSE(spm.is_special(1000));
  // add_bos_token: the BOS comes first; the decoder drops the space the SentencePiece prefix adds.
  const auto ids = spm.encode("Hello world");
  REQUIRE(ids.size() >= 2);
  CHECK(ids.front() == 1);
  CHECK(spm.decode(ids, true) == "Hello world");
  // As Hugging Face's Llama decoder: the Strip after Fuse sees "<s>" first, so the space stays.
  CHECK(spm.decode(spm.encode("a\n\tb \xF0\x9F\xA6\x99 c")) == "<s> a\n\tb \xF0\x9F\xA6\x99 c");

  // Phi-3's chat tokens strip the whitespace after them, as its tokenizer.json says (rstrip).
  const slim::Tokenizer phi3 = slim::Tokenizer::from_gguf(dir / "ggml-vocab-phi-3.gguf");
  const auto user = phi3.encode("<|user|>\nHi<|end|>\n<|assistant|>\n", {.add_special_tokens = false});
  CHECK(user == phi3.encode("<|user|>Hi<|end|><|assistant|>", {.add_special_tokens = false}));
  REQUIRE(phi3.token_to_id("<|user|>").has_value());
  CHECK(user.front() == *phi3.token_to_id("<|user|>"));
  CHECK(phi3.encode("a\n", {.add_special_tokens = false}) != phi3.encode("a", {.add_special_tokens = false}));

  const slim::Tokenizer gpt2 = slim::Tokenizer::from_gguf(dir / "ggml-vocab-gpt-2.gguf");
  CHECK(gpt2.eos_id() == 50256);
  CHECK(gpt2.encode("<|endoftext|>", {.add_special_tokens = false}) == std::vector<int32_t>{50256});
  CHECK(gpt2.decode(gpt2.encode(" Hello  world\n")) == " Hello  world\n");
}

TEST_CASE("gguf tokenizer: a vocabulary tokenizer.json cannot hold is an error, not a broken file") {
  slim::tok::TokenizerFile file;
  file.doc = {{"model", {{"type", "BPE"}}}};
  file.model_vocab.add("ok", 0);
  file.model_vocab.add("\xff\xfe", 1);  // not UTF-8: JSON has no way to write it
  file.has_vocab = true;
  CHECK_THROWS_AS(slim::tok::tokenizer_json_text(file), slim::Error);
  file.model_vocab = {};
  file.model_vocab.add("a \"quoted\" \\ token", 0);
  file.model_vocab.add("ok", 1);
  file.model_vocab.add("ok", 2);  // one string, two ids: the later id, as Vocab::find gives
  const auto back = slim::tok::parse_tokenizer_json(slim::tok::tokenizer_json_text(file));
  CHECK(back.model_vocab.token(0) == "a \"quoted\" \\ token");
  CHECK_FALSE(back.model_vocab.has_id(1));
  CHECK(back.model_vocab.token(2) == "ok");
  CHECK(back.doc["model"]["type"] == "BPE");
}
