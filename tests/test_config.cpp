// config.json parsing: defaults per architecture and clear errors for bad fields.
#include <catch2/catch.hpp>

#include "model/config.hpp"
#include "slim/error.hpp"
#include "test_support.hpp"

using slim::parse_config;

namespace {

std::string with(const std::string& extra) {
  return R"({"architectures":["LlamaForCausalLM"],"vocab_size":256,"hidden_size":64,"intermediate_size":128,)"
         R"("num_hidden_layers":2,"num_attention_heads":4)" +
         extra + "}";
}

void expect_error(const std::string& json, slim::ErrorCode code, const std::string& what) {
  INFO(json);
  try {
    parse_config(json, "config.json");
    FAIL("accepted");
  } catch (const slim::Error& e) {
    INFO(e.what());
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(what) != std::string::npos);
    CHECK(std::string(e.what()).find("config.json") != std::string::npos);
  }
}

}  // namespace

TEST_CASE("defaults are filled in", "[config]") {
  auto c = parse_config(with(""), "config.json");
  CHECK(c.arch == slim::Arch::llama);
  CHECK(c.num_kv_heads == 4);
  CHECK(c.head_dim == 16);
  CHECK(c.rope_theta == 10000.0);
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK(c.rope_scaling.type == slim::RopeScaling::Type::none);
  CHECK(c.eos_token_ids.empty());
}

TEST_CASE("the shared fixtures' configs parse", "[config]") {
  const auto root = slim::test::shared_dir();
  auto llama3 = slim::load_config(root / "fixtures/models/llama3-rope");
  CHECK(llama3.rope_scaling.type == slim::RopeScaling::Type::llama3);
  CHECK(llama3.rope_scaling.original_max_position_embeddings == 32);
  CHECK(llama3.tie_word_embeddings);
  auto qwen = slim::load_config(root / "fixtures/models/qwen2");
  CHECK(qwen.arch == slim::Arch::qwen2);
  CHECK(qwen.qkv_bias);
  CHECK_FALSE(qwen.o_bias);
  for (const char* name : {"SmolLM2-135M", "Qwen2.5-0.5B", "Llama-3.2-1B", "Llama-3-8B"}) {
    INFO(name);
    const auto text = slim::test::read_file(root / "configs" / (std::string(name) + ".json"));
    CHECK_NOTHROW(parse_config(text, name));
  }
  auto l32 = parse_config(slim::test::read_file(root / "configs/Llama-3.2-1B.json"), "x");
  CHECK(l32.eos_token_ids.size() >= 1);
}

TEST_CASE("bad configs give errors naming the field", "[config]") {
  using slim::ErrorCode;
  expect_error("{", ErrorCode::invalid_config, "not valid JSON");
  expect_error("[]", ErrorCode::invalid_config, "not a JSON object");
  expect_error(R"({"architectures":[]})", ErrorCode::invalid_config, "architectures");
  expect_error(R"({"architectures":["BertModel"]})", ErrorCode::unsupported, "LlamaForCausalLM");
  expect_error(R"({"architectures":["LlamaForCausalLM"]})", ErrorCode::invalid_config, "vocab_size");
  expect_error(with(R"(,"num_key_value_heads":3)"), ErrorCode::invalid_config, "num_key_value_heads");
  expect_error(with(R"(,"hidden_size":-5)"), ErrorCode::invalid_config, "hidden_size");
  expect_error(with(R"(,"rms_norm_eps":"small")"), ErrorCode::invalid_config, "rms_norm_eps");
  expect_error(with(R"(,"head_dim":15)"), ErrorCode::invalid_config, "head_dim");
  expect_error(with(R"(,"rope_scaling":{"rope_type":"yarn","factor":4})"), ErrorCode::unsupported, "yarn");
  expect_error(with(R"(,"hidden_act":"relu")"), ErrorCode::unsupported, "relu");
  expect_error(with(R"(,"eos_token_id":[1,"x"])"), ErrorCode::invalid_config, "eos_token_id");
}
