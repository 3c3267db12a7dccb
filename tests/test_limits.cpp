// slim::Limits: each limit refuses an input over it with limit_exceeded, names itself in the
// message, and can be raised by the caller; the defaults load every fixture.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "limits_check.hpp"
#include "model/model_impl.hpp"
#include "slim/chat_template.hpp"
#include "slim/error.hpp"
#include "slim/limits.hpp"
#include "slim/model.hpp"
#include "slim/tokenizer.hpp"
#include "test_support.hpp"

namespace {

using slim::ErrorCode;
using slim::test::error_of;


// Checks that fn() fails with limit_exceeded naming Limits::<field>.
template <class Fn>
void check_limit_error(const char* field, Fn&& fn) {
  const auto [code, message] = error_of(fn);
  INFO(message);
  CHECK(code == ErrorCode::limit_exceeded);
  CHECK(message.find(std::string("Limits::") + field) != std::string::npos);
}

std::filesystem::path llama() { return slim::test::shared_dir() / "fixtures" / "models" / "llama"; }
std::filesystem::path stories() { return slim::test::shared_dir() / "models" / "stories260K"; }

slim::LoadOptions with(slim::Limits limits) {
  slim::LoadOptions options;
  options.threads = 1;
  options.limits = limits;
  return options;
}

}  // namespace

TEST_CASE("model file limits", "[limits]") {
  REQUIRE_NOTHROW(slim::Model::load(llama(), with({})));
  slim::Limits limits;
  SECTION("config.json and index size") {
    limits.max_json_bytes = 100;
    check_limit_error("max_json_bytes", [&] { slim::Model::load(llama(), with(limits)); });
  }
  SECTION("safetensors header") {
    limits.max_safetensors_header_bytes = 100;
    check_limit_error("max_safetensors_header_bytes", [&] { slim::Model::load(llama(), with(limits)); });
  }
  SECTION("tensor count") {
    limits.max_tensor_count = 3;
    check_limit_error("max_tensor_count", [&] { slim::Model::load(llama(), with(limits)); });
  }
  SECTION("tensor elements") {
    limits.max_tensor_elements = 100;
    check_limit_error("max_tensor_elements", [&] { slim::Model::load(llama(), with(limits)); });
  }
}

TEST_CASE("tokenizer limits", "[limits]") {
  // stories260K: 512 tokens, 165 merges, 3 added tokens, tokenizer.json of 12 kB.
  const auto dir = stories();
  REQUIRE(slim::Tokenizer::load(dir).vocab_size() == 512);
  slim::Limits limits;
  SECTION("vocabulary size") {
    limits.max_vocab_size = 512;
    CHECK(slim::Tokenizer::load(dir, limits).vocab_size() == 512);
    limits.max_vocab_size = 511;
    check_limit_error("max_vocab_size", [&] { slim::Tokenizer::load(dir, limits); });
  }
  SECTION("merges") {
    limits.max_merges = 165;
    CHECK_NOTHROW(slim::Tokenizer::load(dir, limits));
    limits.max_merges = 164;
    check_limit_error("max_merges", [&] { slim::Tokenizer::load(dir, limits); });
  }
  SECTION("added tokens") {
    limits.max_added_tokens = 2;
    check_limit_error("max_added_tokens", [&] { slim::Tokenizer::load(dir, limits); });
  }
  SECTION("file sizes") {
    limits.max_tokenizer_json_bytes = 1000;
    check_limit_error("max_tokenizer_json_bytes", [&] { slim::Tokenizer::load(dir, limits); });
    const std::string json = slim::test::read_file(dir / "tokenizer.json");
    check_limit_error("max_tokenizer_json_bytes", [&] { slim::Tokenizer::from_json(json, {}, limits); });
    limits = {};
    limits.max_json_bytes = 10;
    check_limit_error("max_json_bytes", [&] { slim::Tokenizer::load(dir, limits); });
  }
  SECTION("a hostile token id is refused before anything is allocated for it") {
    const std::string json = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 2000000000}, "merges": []}})";
    check_limit_error("max_vocab_size", [&] { slim::Tokenizer::from_json(json); });
    const std::string added = R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                                 "added_tokens": [{"id": 268435455, "content": "x", "special": true}]})";
    check_limit_error("max_vocab_size", [&] { slim::Tokenizer::from_json(added); });
  }
}

TEST_CASE("LoadOptions::limits reach the model's tokenizer and chat template", "[limits]") {
  slim::Limits limits;
  limits.chat_template.max_output_bytes = 12345;
  auto model = slim::Model::load(stories(), with(limits));
  CHECK(model->chat_template().limits().max_output_bytes == 12345);
  limits.max_vocab_size = 100;
  auto small = slim::Model::load(stories(), with(limits));
  check_limit_error("max_vocab_size", [&] { (void)small->tokenizer(); });
}

TEST_CASE("a session's KV cache is checked against memory before it is allocated", "[limits]") {
  slim::Limits limits;
  auto model = slim::Model::load(llama(), with(limits));
  const uint64_t bytes = model->kv_cache_bytes(64);
  SECTION("an explicit max_kv_cache_bytes") {
    limits.max_kv_cache_bytes = bytes;
    auto bounded = slim::Model::load(llama(), with(limits));
    CHECK(slim::Session(bounded, 64).kv_cache_bytes() == bytes);
    check_limit_error("max_kv_cache_bytes", [&] { slim::Session(bounded, 65); });
  }
  SECTION("by default, the memory available now") {
    const uint64_t available = slim::available_memory_bytes();
    CHECK(available > 0);
    CHECK(available < std::numeric_limits<uint64_t>::max());  // Linux has /proc/meminfo
    CHECK_NOTHROW(slim::check_kv_cache_memory(*model, 64, bytes));
    const auto [code, message] = error_of([&] { slim::check_kv_cache_memory(*model, 1 << 24, available + 1); });
    CHECK(code == ErrorCode::limit_exceeded);
    CHECK(message.find("memory available") != std::string::npos);
    CHECK(message.find("max_kv_cache_bytes") != std::string::npos);
    limits.max_kv_cache_bytes = std::numeric_limits<uint64_t>::max();  // the check turned off
    auto unchecked = slim::Model::load(llama(), with(limits));
    CHECK_NOTHROW(slim::check_kv_cache_memory(*unchecked, 1 << 24, available + 1));
  }
}
