// Every ../shared/fixtures/tokenizers/<name>/cases.json, against what Hugging Face's tokenizers.js
// returns: ids, ids_no_special, decoded, decoded_skip_special, and the streaming decoder, for
// 100% of the cases. Each tokenizer is loaded once.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "slim/tokenizer.hpp"
#include "test_support.hpp"

namespace {

using slim::EncodeOptions;
using slim::Tokenizer;

std::string show(const std::string& text) {
  std::string s = nlohmann::json(text.size() > 100 ? text.substr(0, 100) + "..." : text)
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s;
}

std::string show(const std::vector<int32_t>& ids) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < ids.size() && i < 40; ++i) out << (i ? ", " : "") << ids[i];
  if (ids.size() > 40) out << ", ... (" << ids.size() << " ids)";
  out << "]";
  return out.str();
}

struct Report {
  int failures = 0;
  std::string details;  // the first few mismatches
  void add(size_t index, const std::string& text, const std::string& field,
           const std::string& expected, const std::string& got) {
    if (++failures > 6) return;
    details += "case " + std::to_string(index) + " " + show(text) + ": " + field +
               "\n  expected " + expected + "\n  got      " + got + "\n";
  }
};

void check_fixture(const std::string& name) {
  const auto dir = slim::test::shared_dir() / "fixtures" / "tokenizers" / name;
  const Tokenizer tokenizer = Tokenizer::load(dir);
  const nlohmann::json cases = slim::test::read_json(dir / "cases.json")["cases"];
  REQUIRE(cases.size() > 0);
  Report report;
  for (size_t i = 0; i < cases.size(); ++i) {
    const nlohmann::json& c = cases[i];
    const std::string text = c["text"];
    const auto want_ids = c["ids"].get<std::vector<int32_t>>();
    const auto want_plain = c["ids_no_special"].get<std::vector<int32_t>>();
    const std::string want_decoded = c["decoded"];
    const std::string want_skip = c["decoded_skip_special"];

    const auto ids = tokenizer.encode(text);
    if (ids != want_ids) report.add(i, text, "ids", show(want_ids), show(ids));
    EncodeOptions plain;
    plain.add_special_tokens = false;
    const auto plain_ids = tokenizer.encode(text, plain);
    if (plain_ids != want_plain) report.add(i, text, "ids_no_special", show(want_plain), show(plain_ids));
    const std::string decoded = tokenizer.decode(want_plain);
    if (decoded != want_decoded) report.add(i, text, "decoded", show(want_decoded), show(decoded));
    const std::string skipped = tokenizer.decode(want_ids, true);
    if (skipped != want_skip) report.add(i, text, "decoded_skip_special", show(want_skip), show(skipped));

    auto stream = tokenizer.stream_decoder();
    std::string streamed;
    for (const int32_t id : want_plain) streamed += stream.push(id);
    streamed += stream.finish();
    if (streamed != want_decoded) report.add(i, text, "streamed", show(want_decoded), show(streamed));
  }
  INFO(name << ": " << report.failures << " mismatches in " << cases.size() << " cases\n"
            << report.details);
  CHECK(report.failures == 0);
}

}  // namespace

TEST_CASE("tokenizer fixture stories260K") { check_fixture("stories260K"); }
TEST_CASE("tokenizer fixture mistral") { check_fixture("mistral"); }
TEST_CASE("tokenizer fixture llama3") { check_fixture("llama3"); }
TEST_CASE("tokenizer fixture llama3_1") { check_fixture("llama3_1"); }
TEST_CASE("tokenizer fixture qwen2_5") { check_fixture("qwen2_5"); }
TEST_CASE("tokenizer fixture qwen3") { check_fixture("qwen3"); }
TEST_CASE("tokenizer fixture gemma2") { check_fixture("gemma2"); }
TEST_CASE("tokenizer fixture gemma3") { check_fixture("gemma3"); }
