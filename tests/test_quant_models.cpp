// Whole models with q8_0 / q4_0 weights: quantized at load time, saved and mapped back, generated
// at random; against transformers' outputs on the shared fixtures and on stories260K.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>

#include "fixture_check.hpp"
#include "io/safetensors.hpp"
#include "kernels/kernels.hpp"
#include "model/model_impl.hpp"
#include "model/weight_sources.hpp"
#include "slim/slim.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using slim::Model;
using slim::Session;
using slim::WeightFormat;

namespace {

const fs::path& fixtures() {
  static const fs::path root = slim::test::shared_dir() / "fixtures" / "models";
  return root;
}


// The logits of every position of `input`, run from an empty session.
std::vector<float> run(const std::shared_ptr<const Model>& model, const std::vector<int32_t>& input, int threads = 0) {
  Session s(model);
  s.set_threads(threads);
  auto all = s.prefill(input, /*all_logits=*/true);
  return {all.begin(), all.end()};
}

std::vector<float> flatten(const nlohmann::json& rows) {
  std::vector<float> out;
  for (const auto& row : rows) {
    for (const auto& v : row) out.push_back(v.get<float>());
  }
  return out;
}

// How `got` compares with the reference `want`, both [positions][vocab].
struct Agreement {
  size_t positions = 0, top1 = 0;        // positions, and those where the top-1 token agrees
  size_t decisive = 0, decisive_top1 = 0;  // the same over positions whose reference top-1 leads by > margin
  double rms_diff = 0, rms_want = 0;
};

Agreement compare(const std::vector<float>& got, const std::vector<float>& want, size_t vocab, double margin_rel) {
  REQUIRE(got.size() == want.size());
  Agreement a;
  for (size_t i = 0; i < got.size(); ++i) {
    a.rms_diff += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    a.rms_want += double(want[i]) * want[i];
  }
  a.rms_diff = std::sqrt(a.rms_diff / double(got.size()));
  a.rms_want = std::sqrt(a.rms_want / double(got.size()));
  a.positions = got.size() / vocab;
  for (size_t p = 0; p < a.positions; ++p) {
    std::span<const float> g(got.data() + p * vocab, vocab), w(want.data() + p * vocab, vocab);
    const int32_t top = slim::test::argmax(w);
    float second = -INFINITY;
    for (size_t v = 0; v < vocab; ++v) {
      if (int32_t(v) != top) second = std::max(second, w[v]);
    }
    const bool agree = slim::test::argmax(g) == top;
    a.top1 += agree;
    if (w[size_t(top)] - second > margin_rel * a.rms_want) {
      ++a.decisive;
      a.decisive_top1 += agree;
    }
  }
  return a;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A small Llama-shaped config whose matmuls are big enough to be split over two threads even when
// decoding one token.
fs::path write_mid_config(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  write_text(path, R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 256, "intermediate_size": 512,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1024,
    "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "tie_word_embeddings": true})");
  return path;
}

}  // namespace

// Tolerances (q8_0 against transformers' f32 logits). q8_0 rounds each weight to 1/254 of its
// block's largest magnitude (for these Gaussian weights ≈0.5% rms relative error) and the kernels
// round the activations the same way: the model computed is perturbed by about 1%. The fixtures
// are tiny random networks (width 64, weights of σ 0.2: more than unit gain a layer) that amplify
// such perturbations about tenfold: their bf16 twins, rounded by only ≈0.15%, already flip the
// top-1 token at some positions (top-1/top-2 gaps go down to 0.003), and q8_0 measures an rms
// logit error of 4-7% of the logits' rms (12% for Mixtral, whose router gaps of 0.003 flip
// experts). Hence: rms error <= 15% of the logits' rms, and >= 95% top-1 agreement at the
// positions whose top-1 leads by more than 20% of the logits' rms (2.5x the dense fixtures'
// largest rms error) — one flip allowed where that is fewer than 20 positions: smollm3-bf16's 13
// include one whose 0.41 lead (0.25 of the rms) q8_0's 7.8% rms error reverses — and >= 75% over
// all positions (measured: 79% to 100%). stories260K, a trained model, is held to the issue's
// numbers below at every position.
TEST_CASE("q8_0 fixtures agree with transformers", "[quant][model]") {
  for (const std::string& name : slim::test::family_fixture_names()) {
    SECTION(name) {
      const auto expected = slim::test::read_json(fixtures() / name / "expected.json");
      const auto input = slim::test::ids(expected["input_ids"]);
      auto model = Model::load(fixtures() / name, {.threads = 2, .weights = WeightFormat::q8_0});
      CHECK(model->weights_dtype() == slim::DType::q8_0);
      const auto a = compare(run(model, input), flatten(expected["logits"]), 256, 0.2);
      INFO(name << ": top-1 " << a.top1 << "/" << a.positions << ", decisive " << a.decisive_top1 << "/" << a.decisive
                << ", rms error " << a.rms_diff << " of logits rms " << a.rms_want);
      CHECK(a.rms_diff <= 0.15 * a.rms_want);
      CHECK(a.decisive >= 4);
      CHECK(a.decisive - a.decisive_top1 <= std::max<size_t>(1, a.decisive / 20));
      CHECK(a.top1 >= 0.75 * double(a.positions));
    }
  }
}

// q4_0 leaves each weight within 1/16 of its block's largest magnitude (≈7% rms): on these
// fixtures that moves the logits by about half their rms (measured 23-60%), so agreement with
// transformers is near chance and says nothing of slim. What slim must get right is computing the
// q4_0 model: the same q4_0 weights dequantized to f32 and run through the f32 kernels differ only
// by the 8-bit activation rounding (≈0.5%), measured 87-100% top-1 agreement and <= 8% rms error.
// Against transformers the logits must still be far from noise (a broken kernel gives >= 100%).
TEST_CASE("q4_0 fixtures compute their dequantized weights' model", "[quant][model]") {
  for (const std::string& name : slim::test::family_fixture_names()) {
    SECTION(name) {
      const auto expected = slim::test::read_json(fixtures() / name / "expected.json");
      const auto input = slim::test::ids(expected["input_ids"]);
      slim::test::TempDir tmp;
      auto q4 = Model::load(fixtures() / name, {.threads = 2, .weights = WeightFormat::q4_0});
      q4->save(tmp.path);
      auto dequantized = Model::load(tmp.path, {.threads = 2, .weights = WeightFormat::f32});
      CHECK(dequantized->weights_dtype() == slim::DType::f32);
      const auto got = run(q4, input);
      const auto a = compare(got, run(dequantized, input), 256, 0);
      INFO(name << ": top-1 vs dequantized " << a.top1 << "/" << a.positions << ", rms error " << a.rms_diff
                << " of logits rms " << a.rms_want);
      CHECK(a.top1 >= 0.8 * double(a.positions));
      CHECK(a.rms_diff <= 0.1 * a.rms_want);
      const auto t = compare(got, flatten(expected["logits"]), 256, 0);
      INFO("vs transformers: rms error " << t.rms_diff << " of " << t.rms_want);
      CHECK(t.rms_diff <= 0.75 * t.rms_want);
    }
  }
}

// A trained model quantizes gracefully: the issue's thresholds at every one of the 32 positions.
// q8_0's rms logit error is measured at 1% of the logits' rms (8.9); 3% leaves room for kernel
// sets that round differently.
TEST_CASE("stories260K in q8_0 and q4_0 agrees with transformers and still tells its story", "[quant][model]") {
  const auto dir = slim::test::shared_dir() / "models" / "stories260K";
  const auto expected = slim::test::read_json(dir / "expected.json");
  const auto input = slim::test::ids(expected["input_ids"]);
  const auto want = flatten(expected["logits"]);

  auto q8 = Model::load(dir, {.threads = 2, .weights = WeightFormat::q8_0});
  // Its MLP is 172 wide, not a multiple of 32: down_proj stays f32, the rest is q8_0.
  CHECK(q8->impl().weights.layers[0].mlp.down.weight.dtype() == slim::DType::f32);
  CHECK(q8->impl().weights.layers[0].mlp.up.weight.dtype() == slim::DType::q8_0);
  const auto a8 = compare(run(q8, input), want, 512, 0);
  INFO("q8_0: top-1 " << a8.top1 << "/" << a8.positions << ", rms error " << a8.rms_diff << " of " << a8.rms_want);
  CHECK(a8.top1 >= 0.95 * double(a8.positions));
  CHECK(a8.rms_diff <= 0.03 * a8.rms_want);

  // No row of it is whole super-blocks of 256 (hidden 64): a K-quant takes llama-quantize's
  // fallback where the rows are whole blocks of 32 (q4_k -> q5_0, q6_k -> q8_0), and down_proj
  // (172 wide) keeps its type.
  auto k = Model::load(dir, {.threads = 2, .weights = WeightFormat::q4_k});
  CHECK(k->impl().weights.layers[0].mlp.up.weight.dtype() == slim::DType::q5_0);
  CHECK(k->impl().weights.embed.dtype() == slim::DType::q5_0);
  CHECK(k->impl().weights.layers[0].mlp.down.weight.dtype() == slim::DType::f32);
  auto k6 = Model::load(dir, {.threads = 2, .weights = WeightFormat::q6_k});
  CHECK(k6->impl().weights.layers[0].mlp.up.weight.dtype() == slim::DType::q8_0);

  auto q4 = Model::load(dir, {.threads = 2, .weights = WeightFormat::q4_0});
  const auto a4 = compare(run(q4, input), want, 512, 0);
  INFO("q4_0: top-1 " << a4.top1 << "/" << a4.positions);
  CHECK(a4.top1 >= 0.8 * double(a4.positions));

  // "Once upon a time, there was a little girl named Lily": the first 12 greedy tokens.
  Session s(q8);
  auto logits = s.prefill(slim::test::ids(expected["greedy"]["prompt_ids"]));
  const auto want_tokens = slim::test::ids(expected["greedy"]["new_tokens"]);
  std::vector<int32_t> got;
  for (size_t i = 0; i < 12; ++i) {
    got.push_back(slim::test::argmax(logits));
    logits = s.decode(got.back());
  }
  CHECK(got == std::vector<int32_t>(want_tokens.begin(), want_tokens.begin() + 12));
}

TEST_CASE("quantized models give bit-identical logits for 1 and 2 threads", "[quant][threads]") {
  slim::test::TempDir tmp;
  const fs::path config = write_mid_config(tmp.path);
  for (WeightFormat f : {WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4_1, WeightFormat::q5_0, WeightFormat::q5_1}) {
    SECTION(std::string(slim::weight_format_name(f))) {
      // Quantizing at load on 1 or 2 threads gives the same bytes.
      auto one = Model::load(fixtures() / "qwen2", {.threads = 1, .weights = f});
      auto two = Model::load(fixtures() / "qwen2", {.threads = 2, .weights = f});
      const auto& w1 = one->impl().weights.embed;
      const auto& w2 = two->impl().weights.embed;
      REQUIRE(w1.nbytes() == w2.nbytes());
      CHECK(std::memcmp(w1.data(), w2.data(), w1.nbytes()) == 0);
      const std::vector<int32_t> prompt = {1, 5, 9, 200, 31, 7, 77, 12, 100, 3};
      CHECK(run(one, prompt, 1) == run(one, prompt, 2));

      // Matmuls large enough to be split for one decoded token too.
      auto model = Model::random(config, {.threads = 2, .weights = f}, 7);
      const auto a = run(model, prompt, 1);
      CHECK(a == run(model, prompt, 2));
      std::vector<float> steps[2];
      for (int threads : {1, 2}) {
        Session s(model);
        s.set_threads(threads);
        CHECK(s.threads() == threads);
        for (int32_t t : prompt) {
          auto out = s.decode(t);
          steps[threads - 1].insert(steps[threads - 1].end(), out.begin(), out.end());
        }
      }
      CHECK(steps[0] == steps[1]);
      for (float v : a) REQUIRE(std::isfinite(v));
    }
  }
}

TEST_CASE("a saved quantized model maps back without re-quantizing and gives the same logits", "[quant][save]") {
  for (const char* name : {"llama", "qwen2", "gemma", "gemma2", "phi3", "mixtral", "qwen2moe", "qwen3", "qwen3moe",
                           "gemma3", "smollm3", "phi4mini"}) {
    for (WeightFormat f : {WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::bf16, WeightFormat::q4_1, WeightFormat::q5_0,
                           WeightFormat::q5_1}) {
      // The other block types save and map back through the same code: two families suffice.
      const bool other_block = f == WeightFormat::q4_1 || f == WeightFormat::q5_0 || f == WeightFormat::q5_1;
      if (other_block && std::string(name) != "llama" && std::string(name) != "qwen2moe") continue;
      SECTION(std::string(name) + " " + std::string(slim::weight_format_name(f))) {
        const auto expected = slim::test::read_json(fixtures() / name / "expected.json");
        const auto input = slim::test::ids(expected["input_ids"]);
        slim::test::TempDir tmp;
        auto quantized = Model::load(fixtures() / name, {.threads = 2, .weights = f});
        quantized->save(tmp.path / "out");
        CHECK(fs::exists(tmp.path / "out" / "config.json"));
        for (WeightFormat again : {WeightFormat::as_stored, f}) {
          auto loaded = Model::load(tmp.path / "out", {.threads = 2, .weights = again});
          CHECK(loaded->weights_dtype() == quantized->weights_dtype());
          // Views into the mapped file where the kernels read its GGUF blocks as they are; copies
          // where they want them regrouped (kernels::Layout::groups8). Never re-quantized: the
          // logits below are identical.
          const bool mapped = slim::kernels::preferred_layout(loaded->weights_dtype()) == slim::kernels::Layout::blocks;
          CHECK(loaded->impl().weights.embed.owns_memory() != mapped);
          CHECK(loaded->impl().weights.layers[1].o.weight.owns_memory() != mapped);
          CHECK(loaded->info().weight_bytes == quantized->info().weight_bytes);
          CHECK(run(loaded, input) == run(quantized, input));
        }
      }
    }
  }
}

TEST_CASE("a saved quantized file holds GGUF blocks whatever layout the kernels use in memory", "[quant][save]") {
  const fs::path llama = fixtures() / "llama";
  const auto source = slim::io::WeightFiles::open(llama);
  for (WeightFormat f : {WeightFormat::q8_0, WeightFormat::q4_0}) {
    slim::test::TempDir tmp;
    auto model = Model::load(llama, {.threads = 1, .weights = f});
    model->save(tmp.path);
    const auto saved = slim::io::WeightFiles::open(tmp.path);
    for (const char* name : {"model.embed_tokens.weight", "model.layers.0.mlp.down_proj.weight"}) {
      INFO(weight_format_name(f) << " " << name);
      const slim::Tensor original = source.tensor(name), stored = saved.tensor(name);
      const int64_t rows = original.dim(0), cols = original.dim(1);
      REQUIRE(stored.dtype() == model->weights_dtype());
      const size_t row_bytes = slim::dtype_row_bytes(stored.dtype(), cols);
      std::vector<float> values(static_cast<size_t>(cols));
      std::vector<unsigned char> blocks(row_bytes);
      for (int64_t r = 0; r < rows; ++r) {
        slim::kernels::row_to_f32({original.dtype(), original.data(), rows, cols}, r, values.data());
        slim::kernels::quantize_row(stored.dtype(), values.data(), cols, blocks.data());
        REQUIRE(std::memcmp(blocks.data(), stored.data_as<unsigned char>() + static_cast<size_t>(r) * row_bytes, row_bytes) == 0);
      }
    }
  }
}

TEST_CASE("a model whose rows hold groups of 8 blocks and blocks after them saves GGUF blocks and maps back", "[quant][save]") {
  // 288 columns: one group of 8 blocks and 1 block; 800: 3 groups and 1 block (the fixtures, 64
  // and 128 wide, hold no whole group). The tied embedding is looked up and used as the head.
  slim::test::TempDir tmp;
  const fs::path config = tmp.path / "config.json";
  write_text(config, R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 288, "intermediate_size": 800,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512,
    "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "tie_word_embeddings": true})");
  const std::vector<int32_t> prompt = {1, 5, 9, 200, 31, 7, 77, 12, 100, 3, 511};
  for (WeightFormat f : {WeightFormat::q8_0, WeightFormat::q4_0}) {
    SECTION(std::string(slim::weight_format_name(f))) {
      auto model = Model::random(config, {.threads = 2, .weights = f}, 11);
      model->save(tmp.path / "out");
      const auto saved = slim::io::WeightFiles::open(tmp.path / "out");
      const auto& w = model->impl().weights;
      const std::pair<const char*, slim::kernels::MatrixRef> matrices[] = {
          {"model.embed_tokens.weight", {w.embed.dtype(), w.embed.data(), w.embed.dim(0), w.embed.dim(1), w.embed_layout}},
          {"model.layers.1.mlp.down_proj.weight", w.layers[1].mlp.down.matrix()},
          {"model.layers.0.self_attn.k_proj.weight", w.layers[0].k.matrix()}};
      for (const auto& [name, m] : matrices) {
        INFO(name);
        CHECK(m.layout == slim::kernels::preferred_layout(m.dtype));
        const slim::Tensor stored = saved.tensor(name);
        const size_t row_bytes = slim::dtype_row_bytes(m.dtype, m.cols);
        std::vector<unsigned char> blocks(row_bytes);
        for (int64_t r = 0; r < m.rows; ++r) {
          slim::kernels::relayout_row(m.dtype, m.cols, static_cast<const unsigned char*>(m.data) + r * row_bytes, m.layout,
                                      blocks.data(), slim::kernels::Layout::blocks);
          REQUIRE(std::memcmp(blocks.data(), stored.data_as<unsigned char>() + r * row_bytes, row_bytes) == 0);
        }
      }
      const auto loaded = Model::load(tmp.path / "out", {.threads = 2});
      const auto logits = run(model, prompt, 2);
      CHECK(run(loaded, prompt, 2) == logits);
      CHECK(run(model, prompt, 1) == logits);
      for (float v : logits) REQUIRE(std::isfinite(v));
    }
  }
}

TEST_CASE("saving refuses the folder the model was loaded from", "[quant][save]") {
  slim::test::TempDir tmp;
  auto model = Model::load(fixtures() / "llama", {.threads = 1, .weights = WeightFormat::q8_0});
  model->save(tmp.path);
  auto mapped = Model::load(tmp.path, {.threads = 1});
  CHECK_THROWS_AS(mapped->save(tmp.path), slim::Error);
  CHECK(run(mapped, {1, 2, 3}) == run(model, {1, 2, 3}));
}

namespace {

// A saved q8_0 llama fixture, with its model.safetensors header editable.
struct SavedFile {
  slim::test::TempDir dir;
  nlohmann::json header;
  std::string data;
  SavedFile() {
    Model::load(fixtures() / "llama", {.threads = 1, .weights = WeightFormat::q8_0})->save(dir.path);
    const std::string bytes = slim::test::read_file(dir.path / "model.safetensors");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[size_t(i)]);
    header = nlohmann::json::parse(bytes.substr(8, n));
    data = bytes.substr(8 + n);
  }
  // The file with `header`, loaded; returns the error it raises.
  std::optional<slim::Error> load() {
    const std::string h = header.dump();
    std::string prefix(8, '\0');
    for (int i = 0; i < 8; ++i) prefix[size_t(i)] = static_cast<char>((h.size() >> (8 * i)) & 0xff);
    write_text(dir.path / "model.safetensors", prefix + h + data);
    try {
      Model::load(dir.path, {.threads = 1});
    } catch (const slim::Error& e) {
      return e;
    }
    return std::nullopt;
  }
};

const std::string kEmbed = "model.embed_tokens.weight";

}  // namespace

TEST_CASE("malformed quantized files are rejected naming the tensor", "[quant][save]") {
  SavedFile f;
  auto& meta = f.header["__metadata__"];
  REQUIRE(meta["slim.format"] == "slim-quantized");
  REQUIRE(meta["slim.dtype." + kEmbed] == "q8_0");
  REQUIRE(meta["slim.shape." + kEmbed] == "256,64");
  REQUIRE(f.load() == std::nullopt);

  struct Case {
    std::string key, value, message;
    slim::ErrorCode code;
  };
  const std::vector<Case> cases = {
      {"slim.shape." + kEmbed, "256,32", "bytes but q8_0", slim::ErrorCode::invalid_format},
      {"slim.shape." + kEmbed, "128,128", "", slim::ErrorCode::invalid_format},  // right bytes, wrong shape
      {"slim.shape." + kEmbed, "256,48", "multiple of 32", slim::ErrorCode::invalid_format},
      {"slim.shape." + kEmbed, "256,-64", "malformed", slim::ErrorCode::invalid_format},
      {"slim.shape." + kEmbed, "256,,64", "malformed", slim::ErrorCode::invalid_format},
      {"slim.shape." + kEmbed, "", "malformed", slim::ErrorCode::invalid_format},
      {"slim.shape." + kEmbed, "1,1,1,1,64", "malformed", slim::ErrorCode::invalid_format},
      {"slim.shape." + kEmbed, "99999999999999999999,64", "malformed", slim::ErrorCode::invalid_format},
      {"slim.shape." + kEmbed, "1099511627776,1099511627776,64", "malformed", slim::ErrorCode::invalid_format},
      {"slim.shape." + kEmbed, "256,64 ", "malformed", slim::ErrorCode::invalid_format},
      {"slim.dtype." + kEmbed, "q2_k", "unknown block format", slim::ErrorCode::unsupported},
      {"slim.dtype." + kEmbed, "q4_0", "bytes but q4_0", slim::ErrorCode::invalid_format},
      {"slim.dtype.model.missing", "q8_0", "has no slim.shape.model.missing", slim::ErrorCode::invalid_format},
      {"slim.version", "2", "slim.version", slim::ErrorCode::unsupported},
      {"slim.block_size", "64", "slim.block_size", slim::ErrorCode::unsupported},
      {"slim.format", "other", "slim.format", slim::ErrorCode::unsupported},
  };
  for (const Case& c : cases) {
    SECTION(c.key + " = '" + c.value + "'") {
      meta[c.key] = c.value;
      auto e = f.load();
      REQUIRE(e.has_value());
      INFO(e->what());
      CHECK(e->code() == c.code);
      CHECK(std::string(e->what()).find(c.message) != std::string::npos);
      if (c.key.rfind("slim.dtype.", 0) == 0 || c.key.rfind("slim.shape.", 0) == 0) {
        CHECK(std::string(e->what()).find(c.key.substr(11)) != std::string::npos);
      }
    }
  }
  SECTION("metadata for a tensor the file does not hold") {
    meta["slim.dtype.model.ghost"] = "q8_0";
    meta["slim.shape.model.ghost"] = "32";
    auto e = f.load();
    REQUIRE(e.has_value());
    CHECK(std::string(e->what()).find("'model.ghost'") != std::string::npos);
  }
  SECTION("a block tensor stored as F32") {
    f.header["model.norm.weight"]["dtype"] = "U8";
    f.header["model.norm.weight"]["shape"] = {256};
    meta["slim.dtype.model.norm.weight"] = "q8_0";
    meta["slim.shape.model.norm.weight"] = "32";
    f.header[kEmbed]["dtype"] = "F32";
    auto e = f.load();
    REQUIRE(e.has_value());
    INFO(e->what());
    CHECK(std::string(e->what()).find(kEmbed) != std::string::npos);
  }
  SECTION("block metadata dropped: U8 bytes are not weights") {
    meta.erase("slim.format");
    auto e = f.load();
    REQUIRE(e.has_value());
    CHECK(e->code() == slim::ErrorCode::unsupported);
  }
  SECTION("a truncated file") {
    f.data.resize(f.data.size() / 2);
    auto e = f.load();
    REQUIRE(e.has_value());
    CHECK(e->code() == slim::ErrorCode::invalid_format);
  }
}

TEST_CASE("random models of every architecture run and are reproducible", "[quant][random]") {
  for (const slim::test::FamilyFixture& f : slim::test::kFamilyFixtures) {
    const char* name = f.name;
    SECTION(name) {
      const fs::path config = fixtures() / name / "config.json";
      std::vector<float> progress;
      auto model = Model::random(config,
                                 {.threads = 2, .weights = WeightFormat::q4_0,
                                  .progress = [&](float f) { progress.push_back(f); }},
                                 42);
      REQUIRE(!progress.empty());
      CHECK(std::is_sorted(progress.begin(), progress.end()));
      CHECK(progress.back() == 1.0f);
      const std::vector<int32_t> prompt = {3, 1, 4, 1, 5, 9, 2, 6};
      const auto logits = run(model, prompt);
      for (float v : logits) REQUIRE(std::isfinite(v));
      CHECK(run(Model::random(config, {.threads = 1, .weights = WeightFormat::q4_0}, 42), prompt) == logits);
      CHECK(run(Model::random(config, {.threads = 1, .weights = WeightFormat::q4_0}, 43), prompt) != logits);

      // The size estimate used before allocating matches what was built.
      const auto& impl = model->impl();
      uint64_t matrices = 0;
      for (const auto& t : impl.saved) {
        if (t.tensor.ndim() == 2) matrices += t.tensor.nbytes();
      }
      CHECK(matrices == slim::matrix_bytes(impl.config, WeightFormat::q4_0, slim::DType::f32));
      CHECK(slim::matrix_shapes(impl.config).size() ==
            static_cast<size_t>(std::count_if(impl.saved.begin(), impl.saved.end(),
                                              [](const slim::io::NamedTensor& t) { return t.tensor.ndim() == 2; })));
    }
  }
}

TEST_CASE("a random model too large for this machine is refused before allocating", "[quant][random]") {
  const fs::path path = slim::test::shared_dir() / "configs" / "Mixtral-8x7B.json";
  const auto c = slim::parse_config(slim::read_config_file(path), path.string());
  // 46.7 billion weights: 26.3 GB in q4_0, 187 GB in f32, more than any machine this runs on.
  const uint64_t q4 = slim::matrix_bytes(c, WeightFormat::q4_0, slim::DType::f32);
  CHECK(q4 > 26'000'000'000ull);
  CHECK(q4 < 26'500'000'000ull);
  try {
    Model::random(path, {.threads = 2, .weights = WeightFormat::f32});
    FAIL("a 187 GB model was built");
  } catch (const slim::Error& e) {
    INFO(e.what());
    CHECK(e.code() == slim::ErrorCode::limit_exceeded);
    CHECK(std::string(e.what()).find("Mixtral-8x7B.json") != std::string::npos);
  }
  // Every shape in ../shared/configs and configs-2025 has a size estimate (slim-bench --config
  // takes any of them).
  for (const char* folder : {"configs", "configs-2025"}) {
    for (const auto& entry : fs::directory_iterator(slim::test::shared_dir() / folder)) {
      INFO(entry.path());
      const auto config = slim::parse_config(slim::read_config_file(entry.path()), entry.path().string());
      CHECK(slim::matrix_bytes(config, WeightFormat::q8_0, slim::DType::f32) >
            slim::matrix_bytes(config, WeightFormat::q4_0, slim::DType::f32));
    }
  }
}

TEST_CASE("Arm smoke test: the llama fixture in f32 and q8_0", "[arm]") {
  const auto expected = slim::test::read_json(fixtures() / "llama" / "expected.json");
  const auto input = slim::test::ids(expected["input_ids"]);
  const auto want = flatten(expected["logits"]);
  auto f32 = Model::load(fixtures() / "llama", {.threads = 2});
  const auto a = compare(run(f32, input), want, 256, 0);
  CHECK(a.rms_diff < 1e-5);
  CHECK(a.top1 == a.positions);
  auto q8 = Model::load(fixtures() / "llama", {.threads = 2, .weights = WeightFormat::q8_0});
  const auto logits = run(q8, input);
  const auto b = compare(logits, want, 256, 0.2);
  INFO("q8_0: rms error " << b.rms_diff << " of " << b.rms_want);
  CHECK(b.rms_diff <= 0.15 * b.rms_want);  // the tolerances of "q8_0 fixtures agree with transformers"
  CHECK(b.decisive_top1 >= 0.95 * double(b.decisive));
  CHECK(logits == run(q8, input, 1));
}

TEST_CASE("q4_k_m / q5_k_m give each matrix llama-quantize's type for its role and layer", "[quant]") {
  using slim::DType;
  const slim::WeightPlan q4{WeightFormat::q4_k_m, 16, 0, false}, q5{WeightFormat::q5_k_m, 16, 0, true};
  const auto layer = [](int i, const std::string& rest) { return "model.layers." + std::to_string(i) + "." + rest; };
  // 16 layers: the first and last two, and 4, 7, 10, 13 get more bits.
  for (int i = 0; i < 16; ++i) {
    const bool more = i < 2 || i >= 14 || (i - 2) % 3 == 2;
    INFO("layer " << i);
    CHECK(q4.dtype(layer(i, "self_attn.v_proj.weight"), DType::f32, 2048) == (more ? DType::q6_k : DType::q4_k));
    CHECK(q4.dtype(layer(i, "mlp.down_proj.weight"), DType::f32, 8192) == (more ? DType::q6_k : DType::q4_k));
    CHECK(q5.dtype(layer(i, "mlp.down_proj.weight"), DType::f32, 8192) == (more ? DType::q6_k : DType::q5_k));
    CHECK(q4.dtype(layer(i, "self_attn.q_proj.weight"), DType::f32, 2048) == DType::q4_k);
    CHECK(q4.dtype(layer(i, "mlp.up_proj.weight"), DType::f32, 2048) == DType::q4_k);
  }
  CHECK(q4.dtype("lm_head.weight", DType::f32, 2048) == DType::q6_k);
  CHECK(q4.dtype("model.embed_tokens.weight", DType::f32, 2048) == DType::q4_k);
  CHECK(q5.dtype("model.embed_tokens.weight", DType::bf16, 2048) == DType::q6_k);  // tied: the head's type
  CHECK(q4.dtype(layer(3, "self_attn.qkv_proj.weight"), DType::f32, 3072) == DType::q5_k);
  CHECK(q5.dtype(layer(3, "self_attn.qkv_proj.weight"), DType::f32, 3072) == DType::q6_k);
  // Rows that are not whole super-blocks take the fallback; 8 experts (Mixtral) keep k / v in q8_0.
  CHECK(q4.dtype(layer(5, "self_attn.q_proj.weight"), DType::f32, 896) == DType::q5_0);
  CHECK(q4.dtype(layer(0, "mlp.down_proj.weight"), DType::f32, 4864 + 32) == DType::q8_0);
  const slim::WeightPlan mixtral{WeightFormat::q4_k_m, 32, 8, false};
  CHECK(mixtral.dtype(layer(9, "self_attn.v_proj.weight"), DType::f32, 4096) == DType::q8_0);
  CHECK(mixtral.dtype(layer(9, "self_attn.k_proj.weight"), DType::f32, 4096) == DType::q8_0);
  CHECK(mixtral.dtype(layer(9, "self_attn.o_proj.weight"), DType::f32, 4096) == DType::q5_k);
  CHECK(mixtral.dtype(layer(9, "block_sparse_moe.gate.weight"), DType::bf16, 4096) == DType::bf16);
  CHECK(mixtral.dtype(layer(0, "block_sparse_moe.experts.3.w2.weight"), DType::f32, 14336) == DType::q6_k);
  // A single-type format ignores the role.
  const slim::WeightPlan plain{WeightFormat::q4_k, 16, 0, false};
  CHECK(plain.dtype("lm_head.weight", DType::f32, 2048) == DType::q4_k);
}
