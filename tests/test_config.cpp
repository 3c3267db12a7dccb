// config.json parsing: defaults per architecture and clear errors for bad fields.
#include <catch2/catch.hpp>

#include "model/config.hpp"
#include "model/kv_cache.hpp"
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
  expect_error(with(R"(,"rope_scaling":{"rope_type":"dynamic","factor":4})"), ErrorCode::unsupported, "dynamic");
  expect_error(with(R"(,"hidden_act":"relu")"), ErrorCode::unsupported, "relu");
  expect_error(with(R"(,"eos_token_id":[1,"x"])"), ErrorCode::invalid_config, "eos_token_id");
}

TEST_CASE("yarn rope_scaling: its fields and transformers' defaults", "[config]") {
  // Qwen2.5's model card: the older "type" key, original_max_position_embeddings set.
  auto qwen = parse_config(with(R"(,"max_position_embeddings":32768,"rope_theta":1000000.0,)"
                                R"("rope_scaling":{"factor":4.0,"original_max_position_embeddings":32768,"type":"yarn"})"),
                           "config.json");
  const slim::RopeScaling& s = qwen.rope_scaling;
  CHECK(s.type == slim::RopeScaling::Type::yarn);
  CHECK(s.factor == 4.0);
  CHECK(s.original_max_position_embeddings == 32768);
  CHECK(s.beta_fast == 32.0);
  CHECK(s.beta_slow == 1.0);
  CHECK(s.truncate);
  CHECK(s.attention_factor == 0.0);
  CHECK(s.mscale == 0.0);
  CHECK(s.mscale_all_dim == 0.0);

  auto all = parse_config(with(R"(,"rope_scaling":{"rope_type":"yarn","factor":8,"original_max_position_embeddings":512,)"
                               R"("beta_fast":16,"beta_slow":2,"attention_factor":1.25,"mscale":0.7,"mscale_all_dim":0.9,)"
                               R"("truncate":false})"),
                          "config.json").rope_scaling;
  CHECK(all.factor == 8.0);
  CHECK(all.original_max_position_embeddings == 512);
  CHECK(all.beta_fast == 16.0);
  CHECK(all.beta_slow == 2.0);
  CHECK(all.attention_factor == 1.25);
  CHECK(all.mscale == 0.7);
  CHECK(all.mscale_all_dim == 0.9);
  CHECK_FALSE(all.truncate);

  // Zero (or null) betas are the defaults, as Python's `or` makes them; the original context
  // falls back to the top level's, then to max_position_embeddings (2048 by default).
  auto zero = parse_config(with(R"(,"original_max_position_embeddings":1024,)"
                                R"("rope_scaling":{"rope_type":"yarn","factor":2,"beta_fast":0,"beta_slow":null})"),
                           "config.json").rope_scaling;
  CHECK(zero.beta_fast == 32.0);
  CHECK(zero.beta_slow == 1.0);
  CHECK(zero.original_max_position_embeddings == 1024);
  CHECK(parse_config(with(R"(,"rope_scaling":{"rope_type":"yarn","factor":2})"), "config.json")
            .rope_scaling.original_max_position_embeddings == 2048);
  // factor null: the ratio of the two context lengths.
  CHECK(parse_config(with(R"(,"max_position_embeddings":8192,"rope_scaling":{"rope_type":"yarn","factor":null,)"
                          R"("original_max_position_embeddings":2048})"),
                     "config.json")
            .rope_scaling.factor == 4.0);
}

TEST_CASE("bad yarn rope_scaling values give errors naming the field", "[config]") {
  using slim::ErrorCode;
  auto yarn = [](const std::string& fields, const std::string& top = "") {
    return with(top + R"(,"rope_scaling":{"rope_type":"yarn")" + fields + "}");
  };
  expect_error(yarn(""), ErrorCode::invalid_config, "rope_scaling.factor' is missing");
  for (const char* bad : {"0", "-4", "1e-9", "1e300", "\"4\"", "true"}) {
    expect_error(yarn(std::string(R"(,"factor":)") + bad), ErrorCode::invalid_config, "rope_scaling.factor");
  }
  expect_error(yarn(R"(,"factor":1e400)"), ErrorCode::invalid_config, "config.json");  // not a finite number
  for (const char* bad : {"0", "-1", "1.5", "\"x\""}) {
    expect_error(yarn(std::string(R"(,"factor":4,"original_max_position_embeddings":)") + bad), ErrorCode::invalid_config,
                 "rope_scaling.original_max_position_embeddings");
  }
  expect_error(yarn(R"(,"factor":4)", R"(,"original_max_position_embeddings":0)"), ErrorCode::invalid_config,
               "'original_max_position_embeddings'");
  expect_error(yarn(R"(,"factor":4,"beta_fast":1,"beta_slow":2)"), ErrorCode::invalid_config,
               "rope_scaling.beta_fast' must be at least beta_slow");
  expect_error(yarn(R"(,"factor":4,"beta_fast":-32)"), ErrorCode::invalid_config, "rope_scaling.beta_fast");
  expect_error(yarn(R"(,"factor":4,"beta_slow":-1)"), ErrorCode::invalid_config, "rope_scaling.beta_slow");
  expect_error(yarn(R"(,"factor":4,"attention_factor":0)"), ErrorCode::invalid_config, "rope_scaling.attention_factor");
  expect_error(yarn(R"(,"factor":4,"attention_factor":-1)"), ErrorCode::invalid_config, "rope_scaling.attention_factor");
  expect_error(yarn(R"(,"factor":4,"mscale":-1,"mscale_all_dim":1)"), ErrorCode::invalid_config, "rope_scaling.mscale");
  expect_error(yarn(R"(,"factor":4,"mscale":1,"mscale_all_dim":"x")"), ErrorCode::invalid_config,
               "rope_scaling.mscale_all_dim");
  expect_error(yarn(R"(,"factor":4,"truncate":"yes")"), ErrorCode::invalid_config, "rope_scaling.truncate");
  // ln(rope_theta) divides: a base of 1 has no frequencies to tell apart.
  expect_error(yarn(R"(,"factor":4)", R"(,"rope_theta":1.0)"), ErrorCode::invalid_config, "rope_theta");
}

TEST_CASE("family configs: traits and defaults", "[config]") {
  const auto root = slim::test::shared_dir();
  auto load = [&](const char* name) { return parse_config(slim::test::read_file(root / "configs" / name), name); };

  auto gemma = load("codegemma-2b.json");
  CHECK(gemma.arch == slim::Arch::gemma);
  CHECK(gemma.traits.norm_adds_one);
  CHECK(gemma.traits.scale_embeddings);
  CHECK(gemma.traits.activation == slim::Activation::gelu_tanh);
  CHECK(gemma.tie_word_embeddings);  // absent: Gemma ties
  CHECK(gemma.head_dim == 256);
  CHECK_FALSE(gemma.is_local_layer(0));

  auto gemma2 = load("gemma-2-2b.json");
  CHECK(gemma2.arch == slim::Arch::gemma2);
  CHECK(gemma2.traits.sandwich_norms);
  CHECK(gemma2.traits.attn_softcap == 50.0);
  CHECK(gemma2.traits.final_softcap == 30.0);
  CHECK(gemma2.traits.query_scale == Approx(1.0 / 16));
  CHECK(gemma2.tie_word_embeddings);
  CHECK(gemma2.is_local_layer(0));
  CHECK_FALSE(gemma2.is_local_layer(1));
  CHECK(gemma2.is_local_layer(24));
  // Gemma 2 context of 8192: 13 local layers hold 4096 positions, 13 global ones 8192.
  CHECK(slim::kv_cache_bytes(gemma2, 8192) == 2ull * 4 * 4 * 256 * (13 * 4096 + 13 * 8192));

  auto phi3 = load("Phi-3-mini-4k-instruct.json");
  CHECK(phi3.arch == slim::Arch::phi3);
  CHECK(phi3.traits.fused_qkv);
  CHECK(phi3.traits.fused_gate_up);
  CHECK(phi3.traits.sliding == slim::SlidingPattern::all);
  CHECK(phi3.traits.sliding_window == 2047);
  CHECK(phi3.rms_norm_eps == 1e-5);

  auto mixtral = load("Mixtral-8x7B.json");
  CHECK(mixtral.moe.num_experts == 8);
  CHECK(mixtral.moe.top_k == 2);
  CHECK(mixtral.moe.normalize_top_k);
  CHECK(mixtral.moe.expert_intermediate_size == 14336);
  CHECK(mixtral.traits.sliding == slim::SlidingPattern::none);
  CHECK(mixtral.is_moe_layer(31));

  auto qmoe = load("Qwen1.5-MoE-A2.7B.json");
  CHECK(qmoe.moe.num_experts == 60);
  CHECK(qmoe.moe.top_k == 4);
  CHECK_FALSE(qmoe.moe.normalize_top_k);
  CHECK(qmoe.moe.shared_expert_intermediate_size == 5632);
  CHECK(qmoe.qkv_bias);

  auto longrope = slim::load_config(root / "fixtures/models/phi3-longrope");
  CHECK(longrope.rope_scaling.type == slim::RopeScaling::Type::longrope);
  CHECK(longrope.rope_scaling.original_max_position_embeddings == 16);
  CHECK(longrope.rope_scaling.long_factor.size() == 8);
}

TEST_CASE("Gemma 2 soft-caps set to null are off; Qwen2-MoE dense layers", "[config]") {
  auto c = parse_config(R"({"architectures":["Gemma2ForCausalLM"],"vocab_size":256,"hidden_size":64,)"
                        R"("intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"head_dim":16,)"
                        R"("attn_logit_softcapping":null,"final_logit_softcapping":null})",
                        "config.json");
  CHECK(c.traits.attn_softcap == 0.0);
  CHECK(c.traits.final_softcap == 0.0);
  CHECK(c.traits.sliding_window == 4096);  // Gemma2Config's default

  auto q = parse_config(R"({"architectures":["Qwen2MoeForCausalLM"],"vocab_size":256,"hidden_size":64,)"
                        R"("intermediate_size":128,"num_hidden_layers":4,"num_attention_heads":4,)"
                        R"("num_experts":4,"num_experts_per_tok":2,"decoder_sparse_step":2,"mlp_only_layers":[3]})",
                        "config.json");
  CHECK_FALSE(q.is_moe_layer(0));
  CHECK(q.is_moe_layer(1));
  CHECK_FALSE(q.is_moe_layer(2));
  CHECK_FALSE(q.is_moe_layer(3));
}

TEST_CASE("bad family configs give errors naming the field", "[config]") {
  using slim::ErrorCode;
  auto family = [](const std::string& arch, const std::string& extra) {
    return R"({"architectures":[")" + arch +
           R"("],"vocab_size":256,"hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,)"
           R"("num_attention_heads":4,"head_dim":16)" +
           extra + "}";
  };
  expect_error(family("Gemma2ForCausalLM", R"(,"hidden_activation":"relu")"), ErrorCode::unsupported,
               "hidden_activation 'relu'");
  expect_error(family("Gemma2ForCausalLM", R"(,"sliding_window":0)"), ErrorCode::invalid_config, "sliding_window");
  expect_error(family("Gemma2ForCausalLM", R"(,"attn_logit_softcapping":"big")"), ErrorCode::invalid_config,
               "attn_logit_softcapping");
  expect_error(family("Phi3ForCausalLM", R"(,"rope_scaling":{"type":"longrope","short_factor":[1,1],"long_factor":[1,1]})"),
               ErrorCode::invalid_config, "short_factor");
  expect_error(family("Phi3ForCausalLM", R"(,"rope_scaling":{"type":"su","short_factor":[],"long_factor":[]})"),
               ErrorCode::unsupported, "su");
  expect_error(family("MixtralForCausalLM", R"(,"num_local_experts":2,"num_experts_per_tok":3)"),
               ErrorCode::invalid_config, "num_experts_per_tok");
  expect_error(family("Qwen2MoeForCausalLM", R"(,"use_sliding_window":true)"), ErrorCode::unsupported,
               "use_sliding_window");
  expect_error(family("Qwen2MoeForCausalLM", R"(,"mlp_only_layers":[5])"), ErrorCode::invalid_config,
               "mlp_only_layers");
}

TEST_CASE("2025 family configs: traits and defaults", "[config]") {
  const auto root = slim::test::shared_dir();
  auto load = [&](const char* name) { return parse_config(slim::test::read_file(root / "configs-2025" / name), name); };

  auto qwen3 = load("Qwen3-0.6B.json");
  CHECK(qwen3.arch == slim::Arch::qwen3);
  CHECK(qwen3.traits.qk_norm);
  CHECK(qwen3.head_dim == 128);  // explicit: 16 heads of 128 in a hidden size of 1024
  CHECK_FALSE(qwen3.qkv_bias);
  CHECK(qwen3.rotary_dim == 128);

  // Gemma 3 1B: sliding_window_pattern 6, i.e. layers 5, 11, 17, 23 global; no soft-caps.
  auto gemma3 = load("gemma-3-1b.json");
  CHECK(gemma3.arch == slim::Arch::gemma3);
  CHECK(gemma3.traits.qk_norm);
  CHECK(gemma3.traits.sandwich_norms);
  CHECK(gemma3.traits.attn_softcap == 0.0);
  CHECK(gemma3.traits.final_softcap == 0.0);
  CHECK(gemma3.traits.local_rope_theta == 10000.0);
  CHECK(gemma3.tie_word_embeddings);
  int global = 0;
  for (int64_t l = 0; l < gemma3.num_layers; ++l) global += !gemma3.is_local_layer(l);
  CHECK(global == 4);
  CHECK_FALSE(gemma3.is_local_layer(5));
  CHECK(gemma3.is_local_layer(6));
  // A context of 32768: 22 local layers hold 512 positions, 4 global ones 32768.
  CHECK(slim::kv_cache_bytes(gemma3, 32768) == 2ull * 4 * 1 * 256 * (22 * 512 + 4 * 32768));

  auto phi4 = slim::load_config(root / "fixtures/models/phi4mini");
  CHECK(phi4.rotary_dim == 12);
  CHECK(phi4.rope_scaling.long_factor.size() == 6);
  auto smol = slim::load_config(root / "fixtures/models/smollm3");
  CHECK(smol.has_rope(2));
  CHECK_FALSE(smol.has_rope(3));

  // Without no_rope_layers, every no_rope_layer_interval-th layer goes without RoPE.
  auto s = parse_config(R"({"architectures":["SmolLM3ForCausalLM"],"vocab_size":256,"hidden_size":64,)"
                        R"("intermediate_size":128,"num_hidden_layers":6,"num_attention_heads":4,)"
                        R"("no_rope_layer_interval":3})",
                        "config.json");
  CHECK(s.tie_word_embeddings);
  for (int64_t l = 0; l < 6; ++l) CHECK(s.has_rope(l) == (l % 3 != 2));
}

TEST_CASE("bad 2025 family configs give errors naming the field", "[config]") {
  using slim::ErrorCode;
  auto family = [](const std::string& arch, const std::string& extra) {
    return R"({"architectures":[")" + arch +
           R"("],"vocab_size":256,"hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,)"
           R"("num_attention_heads":4,"head_dim":16)" +
           extra + "}";
  };
  expect_error(family("Gemma3ForCausalLM", R"(,"layer_types":["sliding_attention","chunked_attention"])"),
               ErrorCode::invalid_config, "layer_types");
  expect_error(family("Gemma3ForCausalLM", R"(,"layer_types":["full_attention"])"), ErrorCode::invalid_config,
               "layer_types");
  expect_error(family("Gemma3ForCausalLM", R"(,"sliding_window_pattern":0)"), ErrorCode::invalid_config,
               "sliding_window_pattern");
  expect_error(family("Gemma3ForCausalLM", R"(,"rope_local_base_freq":"x")"), ErrorCode::invalid_config,
               "rope_local_base_freq");
  expect_error(family("Gemma3ForCausalLM", R"(,"rope_scaling":{"rope_type":"dynamic","factor":8})"),
               ErrorCode::unsupported, "dynamic");
  expect_error(family("Qwen3ForCausalLM", R"(,"use_sliding_window":true)"), ErrorCode::unsupported,
               "use_sliding_window");
  expect_error(family("Qwen3MoeForCausalLM", R"(,"layer_types":["full_attention","sliding_attention"])"),
               ErrorCode::unsupported, "layer_types");
  expect_error(family("Qwen3MoeForCausalLM", R"(,"mlp_only_layers":[2])"), ErrorCode::invalid_config,
               "mlp_only_layers");
  expect_error(family("SmolLM3ForCausalLM", R"(,"no_rope_layers":[1,2])"), ErrorCode::invalid_config,
               "no_rope_layers");
  expect_error(family("SmolLM3ForCausalLM", R"(,"no_rope_layers":[1])"), ErrorCode::invalid_config,
               "no_rope_layers");
  expect_error(family("Phi3ForCausalLM", R"(,"partial_rotary_factor":0.1)"), ErrorCode::invalid_config,
               "partial_rotary_factor");
  expect_error(family("Phi3ForCausalLM", R"(,"partial_rotary_factor":1.5)"), ErrorCode::invalid_config,
               "partial_rotary_factor");
  // longrope factors are of the rotated length: 6 for 12 of 16 dims, not 8.
  expect_error(family("Phi3ForCausalLM", R"(,"partial_rotary_factor":0.75,)"
                                         R"("rope_scaling":{"type":"longrope","short_factor":[1,1,1,1,1,1,1,1],)"
                                         R"("long_factor":[1,1,1,1,1,1,1,1]})"),
               ErrorCode::invalid_config, "short_factor");
}
