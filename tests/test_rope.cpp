// YaRN RoPE scaling: slim's frequencies and attention factor against YaRN written out here from
// its formula in long double, and a model with a yarn rope_scaling end to end (decode against
// prefill, and against the naive forward pass on these frequencies).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "fixture_check.hpp"
#include "model/config.hpp"
#include "model/rope.hpp"
#include "naive_reference.hpp"
#include "slim/slim.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

// YaRN from its definition (arXiv 2309.00071, as transformers applies it), kept apart from slim's
// code. Pair i (dims i and i + dim/2) turns original · θ^(-2i/dim) / 2π times over the original
// context. Pairs turning more than beta_fast times keep their frequency, those turning fewer than
// beta_slow times have it divided by `factor`, and the pairs between blend the two linearly in
// i; the ramp's ends are rounded outward to whole pairs unless truncate is false. cos and sin are
// multiplied by 1 + 0.1 ln(factor) (1 for factor ≤ 1), or with mscale and mscale_all_dim the
// ratio of that with each weighting the log, unless attention_factor is given.
struct Yarn {
  long double theta;
  int dim;  // the rotated dims
  long double factor, original;
  long double beta_fast = 32, beta_slow = 1;
  bool truncate = true;
  long double attention_factor = 0, mscale = 0, mscale_all_dim = 0;

  // The (fractional) pair whose frequency turns `turns` times over the original context.
  long double pair_turning(long double turns) const {
    return dim / 2.0L * std::log(original / (2 * std::numbers::pi_v<long double> * turns)) / std::log(theta);
  }
  std::vector<long double> inv_freq() const {
    long double first = pair_turning(beta_fast), last = pair_turning(beta_slow);
    if (truncate) {
      first = std::floor(first);
      last = std::ceil(last);
    }
    first = std::max(first, 0.0L);
    last = std::min(last, static_cast<long double>(dim - 1));
    if (last == first) last += 0.001L;
    std::vector<long double> out;
    for (int i = 0; i < dim / 2; ++i) {
      const long double unscaled = std::pow(theta, -2.0L * i / dim);
      const long double t = std::clamp((i - first) / (last - first), 0.0L, 1.0L);
      out.push_back(unscaled * (1 - t) + unscaled / factor * t);
    }
    return out;
  }
  long double attention() const {
    if (attention_factor > 0) return attention_factor;
    auto weighted = [&](long double w) { return factor <= 1 ? 1.0L : 1 + 0.1L * w * std::log(factor); };
    return mscale != 0 && mscale_all_dim != 0 ? weighted(mscale) / weighted(mscale_all_dim) : weighted(1);
  }
  std::vector<float> inv_freq_f32() const {
    std::vector<float> out;
    for (long double f : inv_freq()) out.push_back(static_cast<float>(f));
    return out;
  }
};

slim::ModelConfig parse(const std::string& json) { return slim::parse_config(json, "config.json"); }

// slim's frequencies and factor within 1e-6 (relative) of the reference.
void check_against(const slim::ModelConfig& c, const Yarn& want) {
  REQUIRE(c.rope_scaling.type == slim::RopeScaling::Type::yarn);
  REQUIRE(c.rotary_dim == want.dim);
  const std::vector<float> got = slim::rope_inv_freq(c);
  const std::vector<long double> ref = want.inv_freq();
  REQUIRE(got.size() == ref.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("pair " << i << ": " << got[i] << " vs " << static_cast<double>(ref[i]));
    CHECK(std::abs(got[i] - ref[i]) <= 1e-6L * ref[i]);
  }
  const long double attention = want.attention();
  INFO("attention factor " << slim::rope_attention_factor(c) << " vs " << static_cast<double>(attention));
  CHECK(std::abs(slim::rope_attention_factor(c) - attention) <= 1e-6L * attention);
}

// Qwen2.5-7B-Instruct's config.json with the rope_scaling its model card gives for 128k tokens.
const std::string kQwen25 =
    R"({"architectures":["Qwen2ForCausalLM"],"vocab_size":152064,"hidden_size":3584,"intermediate_size":18944,)"
    R"("num_hidden_layers":28,"num_attention_heads":28,"num_key_value_heads":4,"max_position_embeddings":32768,)"
    R"("rope_theta":1000000.0,"rope_scaling":{"factor":4.0,"original_max_position_embeddings":32768,"type":"yarn"}})";

std::string llama(const std::string& extra) {
  return R"({"architectures":["LlamaForCausalLM"],"vocab_size":256,"hidden_size":1024,"intermediate_size":128,)"
         R"("num_hidden_layers":2,"num_attention_heads":16,)" +
         extra + "}";
}

// A fixture model folder with its config.json's rope_scaling (and `extra` top-level fields)
// replaced, in a temporary folder.
fs::path with_scaling(const fs::path& dir, const std::string& fixture, const nlohmann::json& scaling,
                      const nlohmann::json& extra = nlohmann::json::object()) {
  const fs::path from = slim::test::shared_dir() / "fixtures" / "models" / fixture;
  fs::copy_file(from / "model.safetensors", dir / "model.safetensors");
  nlohmann::json config = slim::test::read_json(from / "config.json");
  config["rope_scaling"] = scaling;
  config.update(extra);
  std::ofstream(dir / "config.json") << config.dump(1);
  return dir;
}

}  // namespace

TEST_CASE("yarn: Qwen2.5-7B-Instruct's 128k scaling", "[rope]") {
  const slim::ModelConfig c = parse(kQwen25);
  check_against(c, {.theta = 1e6L, .dim = 128, .factor = 4, .original = 32768});
  CHECK(slim::rope_attention_factor(c) == static_cast<float>(1 + 0.1 * std::log(4.0)));

  // Pairs 0-23 turn more than 32 times over 32768 positions and keep their frequency (bit for
  // bit), pairs 40-63 turn less than once and have it divided by 4, the 16 between blend.
  slim::ModelConfig plain = c;
  plain.rope_scaling = {};
  const std::vector<float> unscaled = slim::rope_inv_freq(plain), scaled = slim::rope_inv_freq(c);
  for (size_t i = 0; i < 64; ++i) {
    INFO("pair " << i);
    if (i <= 23) CHECK(scaled[i] == unscaled[i]);
    if (i >= 40) CHECK(scaled[i] == unscaled[i] / 4);
    if (i > 23 && i < 40) CHECK((scaled[i] < unscaled[i] && scaled[i] > unscaled[i] / 4));
  }
}

TEST_CASE("yarn: partial rotation, mscale, attention_factor, truncate and defaults", "[rope]") {
  SECTION("partial rotation: the ramp over the rotated dims only") {
    // Phi-3 with half of each 128-dim head rotated.
    const auto c = parse(
        R"({"architectures":["Phi3ForCausalLM"],"vocab_size":256,"hidden_size":3072,"intermediate_size":128,)"
        R"("num_hidden_layers":2,"num_attention_heads":24,"partial_rotary_factor":0.5,"max_position_embeddings":131072,)"
        R"("rope_theta":10000.0,"rope_scaling":{"rope_type":"yarn","factor":32.0,"original_max_position_embeddings":4096}})");
    check_against(c, {.theta = 1e4L, .dim = 64, .factor = 32, .original = 4096});
  }
  SECTION("mscale and mscale_all_dim") {
    const auto c = parse(llama(R"("rope_scaling":{"rope_type":"yarn","factor":40,"original_max_position_embeddings":4096,)"
                               R"("mscale":1.0,"mscale_all_dim":0.8,"beta_fast":32,"beta_slow":1})"));
    check_against(c, {.theta = 1e4L, .dim = 64, .factor = 40, .original = 4096, .mscale = 1, .mscale_all_dim = 0.8L});
    // (1 + 0.1 ln 40) / (1 + 0.08 ln 40): above 1, below the plain factor.
    CHECK(slim::rope_attention_factor(c) > 1.0f);
    CHECK(slim::rope_attention_factor(c) < static_cast<float>(1 + 0.1 * std::log(40.0)));
    // mscale alone is ignored, as in transformers: the plain 0.1 ln(40) + 1.
    const auto alone = parse(llama(R"("rope_scaling":{"rope_type":"yarn","factor":40,"mscale":0.5})"));
    CHECK(slim::rope_attention_factor(alone) == static_cast<float>(1 + 0.1 * std::log(40.0)));
  }
  SECTION("attention_factor, and betas of one's own") {
    const auto c = parse(llama(R"("rope_theta":1000000.0,"max_position_embeddings":8192,"rope_scaling":{"rope_type":"yarn",)"
                               R"("factor":2.0,"original_max_position_embeddings":8192,"attention_factor":1.5,)"
                               R"("beta_fast":16,"beta_slow":2,"mscale":1,"mscale_all_dim":2})"));
    check_against(c, {.theta = 1e6L, .dim = 64, .factor = 2, .original = 8192, .beta_fast = 16, .beta_slow = 2,
                      .attention_factor = 1.5L});
    CHECK(slim::rope_attention_factor(c) == 1.5f);
  }
  SECTION("truncate false: the ramp's ends stay fractional") {
    // gpt-oss's scaling.
    const std::string scaling = R"("rope_theta":150000.0,"max_position_embeddings":131072,"rope_scaling":{"rope_type":"yarn",)"
                                R"("factor":32.0,"original_max_position_embeddings":4096,"beta_fast":32.0,"beta_slow":1.0,)";
    const auto c = parse(llama(scaling + R"("truncate":false})"));
    CHECK_FALSE(c.rope_scaling.truncate);
    check_against(c, {.theta = 150000, .dim = 64, .factor = 32, .original = 4096, .truncate = false});
    CHECK(slim::rope_inv_freq(c) != slim::rope_inv_freq(parse(llama(scaling + R"("truncate":true})"))));
  }
  SECTION("original_max_position_embeddings from the top level, then max_position_embeddings") {
    const auto top = parse(llama(R"("max_position_embeddings":16384,"original_max_position_embeddings":2048,)"
                                 R"("rope_scaling":{"type":"yarn","factor":8})"));
    CHECK(top.rope_scaling.original_max_position_embeddings == 2048);
    check_against(top, {.theta = 1e4L, .dim = 64, .factor = 8, .original = 2048});
    const auto none = parse(llama(R"("max_position_embeddings":16384,"rope_scaling":{"type":"yarn","factor":8})"));
    check_against(none, {.theta = 1e4L, .dim = 64, .factor = 8, .original = 16384});
  }
  SECTION("factor null: max_position_embeddings / original; below 1: no attention scaling") {
    const auto ratio = parse(llama(R"("max_position_embeddings":16384,"rope_scaling":{"type":"yarn","factor":null,)"
                                   R"("original_max_position_embeddings":4096})"));
    CHECK(ratio.rope_scaling.factor == 4.0);
    check_against(ratio, {.theta = 1e4L, .dim = 64, .factor = 4, .original = 4096});
    const auto shrink = parse(llama(R"("rope_scaling":{"type":"yarn","factor":0.5})"));
    check_against(shrink, {.theta = 1e4L, .dim = 64, .factor = 0.5L, .original = 2048});
    CHECK(slim::rope_attention_factor(shrink) == 1.0f);
  }
  SECTION("beta_fast equal to beta_slow, not truncated: transformers' 0.001 wide ramp") {
    const auto c = parse(llama(R"("rope_scaling":{"type":"yarn","factor":4,"beta_fast":4,"beta_slow":4,"truncate":false})"));
    check_against(c, {.theta = 1e4L, .dim = 64, .factor = 4, .original = 2048, .beta_fast = 4, .beta_slow = 4,
                      .truncate = false});
  }
}

TEST_CASE("yarn end to end: decode, prefill and the naive forward pass agree", "[rope][model]") {
  struct Case {
    const char* fixture;
    nlohmann::json scaling, extra;
    Yarn reference;
  };
  // qwen2: 8 pairs, pair 0 kept, 1-2 blended, 3-7 interpolated. phi4mini: 6 of 8 pairs rotated,
  // a fractional ramp (truncate false).
  const Case cases[] = {
      {"qwen2",
       {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 256}},
       {{"max_position_embeddings", 1024}},
       {.theta = 1e6L, .dim = 16, .factor = 4, .original = 256}},
      {"phi4mini",
       {{"type", "yarn"}, {"factor", 8.0}, {"original_max_position_embeddings", 2048}, {"beta_fast", 16}, {"truncate", false}},
       nlohmann::json::object(),
       {.theta = 1e4L, .dim = 12, .factor = 8, .original = 2048, .beta_fast = 16, .truncate = false}},
  };
  for (const Case& c : cases) {
    SECTION(c.fixture) {
      slim::test::TempDir dir;
      const auto model = slim::test::load_1thread(with_scaling(dir.path, c.fixture, c.scaling, c.extra));
      const auto plain = slim::test::load_1thread(slim::test::shared_dir() / "fixtures" / "models" / c.fixture);
      const auto input = slim::test::ids(
          slim::test::read_json(slim::test::shared_dir() / "fixtures" / "models" / c.fixture / "expected.json")["input_ids"]);
      const std::vector<float> logits = slim::test::prompt_logits(model, input);
      // The scaling moves the logits: the checks below see it.
      CHECK(slim::test::max_diff(logits, slim::test::prompt_logits(plain, input)) > 1e-3);
      slim::test::check_stepwise_equals_prefill(model, input);

      const auto want = slim::test::NaiveReference(*model)
                            .with_rope(c.reference.inv_freq_f32(), static_cast<double>(c.reference.attention()))
                            .logits(input);
      const size_t vocab = static_cast<size_t>(model->info().vocab_size);
      double worst = 0;
      for (size_t p = 0; p < input.size(); ++p) {
        for (size_t v = 0; v < vocab; ++v) worst = std::max(worst, std::abs(logits[p * vocab + v] - want[p][v]));
      }
      INFO("max |slim - naive|");
      CHECK(worst < 1e-4);
    }
  }
}
