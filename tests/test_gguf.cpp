// The GGUF reader on files the test builds itself (well-formed, truncated at every byte, hostile)
// and on the fixtures in ../shared/fixtures/gguf.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>

#include "io/gguf.hpp"
#include "model/config.hpp"
#include "model/gguf_model.hpp"
#include "slim/error.hpp"
#include "test_support.hpp"

using slim::io::GgufFile;
using slim::io::GgufType;

namespace {

template <class T>
std::string le(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));  // the test machines are little-endian, as GGUF is
  return s;
}
std::string str(const std::string& s) { return le<uint64_t>(s.size()) + s; }

// A GGUF file put together field by field, so a test can break any one of them.
struct Builder {
  uint32_t version = 3;
  std::string kvs, infos, data;
  uint64_t kv_count = 0, tensor_count = 0;
  uint32_t alignment = 32;

  Builder& kv(const std::string& key, GgufType type, const std::string& value) {
    kvs += str(key) + le(static_cast<uint32_t>(type)) + value;
    ++kv_count;
    return *this;
  }
  Builder& array(const std::string& key, GgufType element, uint64_t count, const std::string& elements) {
    return kv(key, GgufType::array, le(static_cast<uint32_t>(element)) + le(count) + elements);
  }
  // A tensor of ggml type `type` with dims (ggml order) and `bytes` of data, placed at the next
  // aligned offset.
  Builder& tensor(const std::string& name, uint32_t type, std::initializer_list<uint64_t> dims, const std::string& bytes) {
    while (data.size() % alignment != 0) data += '\0';
    infos += str(name) + le(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) infos += le(d);
    infos += le(type) + le<uint64_t>(data.size());
    data += bytes;
    ++tensor_count;
    return *this;
  }
  std::string bytes() const {
    std::string out = "GGUF" + le(version) + le(tensor_count) + le(kv_count) + kvs + infos;
    while (out.size() % alignment != 0) out += '\0';
    return out + data;
  }
};

GgufFile parse(const std::string& bytes) {
  return GgufFile::parse(
      slim::io::MappedFile::copy_of({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, "test.gguf"));
}

void expect_rejected(const std::string& bytes, const std::string& what,
                     slim::ErrorCode code = slim::ErrorCode::invalid_format) {
  INFO("expecting an error mentioning: " << what);
  try {
    parse(bytes);
    FAIL("the file was accepted");
  } catch (const slim::Error& e) {
    INFO("message: " << e.what());
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(what) != std::string::npos);
  }
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

Builder sample(uint32_t alignment = 32) {
  Builder b;
  b.alignment = alignment;
  if (alignment != 32) b.kv("general.alignment", GgufType::u32, le(alignment));
  b.kv("general.architecture", GgufType::string, str("llama"))
      .kv("llama.block_count", GgufType::u32, le<uint32_t>(2))
      .kv("llama.rope.freq_base", GgufType::f32, le<float>(10000.0f))
      .kv("signed", GgufType::i8, le<int8_t>(-3))
      .kv("big", GgufType::u64, le<uint64_t>(~uint64_t{0}))
      .kv("flag", GgufType::boolean, le<uint8_t>(1))
      .kv("double", GgufType::f64, le<double>(0.25))
      .array("tokens", GgufType::string, 3, str("a") + str("") + str("ccc"))
      .array("scores", GgufType::f32, 2, floats({-1.5f, 2.0f}))
      .array("types", GgufType::i32, 2, le<int32_t>(1) + le<int32_t>(-6))
      .tensor("w", 0, {2, 3}, floats({1, 2, 3, 4, 5, 6}))
      .tensor("v", 0, {2}, floats({7, 8}));
  return b;
}

}  // namespace

TEST_CASE("gguf: metadata of every type and tensors read back") {
  const GgufFile g = parse(sample().bytes());
  CHECK(g.version() == 3);
  CHECK(g.string("general.architecture") == "llama");
  CHECK(g.integer("llama.block_count") == 2);
  CHECK(g.number("llama.rope.freq_base") == 10000.0);
  CHECK(g.integer("signed") == -3);
  CHECK(g.boolean("flag") == true);
  CHECK(g.number("double") == 0.25);
  CHECK_FALSE(g.string("absent").has_value());
  CHECK(*g.string_array("tokens") == std::vector<std::string_view>{"a", "", "ccc"});
  CHECK(*g.number_array("scores") == std::vector<double>{-1.5, 2.0});
  CHECK(*g.integer_array("types") == std::vector<int64_t>{1, -6});
  // Wrong types and out-of-range values name the key.
  CHECK_THROWS_WITH(g.string("llama.block_count"), Catch::Contains("'llama.block_count' is u32, not a string"));
  CHECK_THROWS_WITH(g.integer("big"), Catch::Contains("'big'"));
  CHECK_THROWS_WITH(g.integer_array("scores"), Catch::Contains("'scores' is array of f32"));
  CHECK_THROWS_WITH(g.string_array("types"), Catch::Contains("'types'"));

  REQUIRE(g.tensors().size() == 2);
  const auto* w = g.find_tensor("w");
  REQUIRE(w != nullptr);
  CHECK(w->shape() == std::vector<int64_t>{3, 2});
  slim::Tensor t = g.tensor(*w);
  CHECK(t.dim(0) == 3);
  CHECK(t.dim(1) == 2);
  CHECK(t.data_as<float>()[5] == 6.0f);
  CHECK(g.find_tensor("v")->offset == 32);
}

TEST_CASE("gguf: version 2, other alignments, no tensors") {
  for (uint32_t alignment : {1u, 8u, 64u, 4096u}) {
    Builder b = sample(alignment);
    b.version = 2;
    const GgufFile g = parse(b.bytes());
    CHECK(g.alignment() == alignment);
    CHECK(g.tensor(*g.find_tensor("v")).data_as<float>()[1] == 8.0f);
  }
  Builder empty;
  empty.kv("k", GgufType::u8, le<uint8_t>(1));
  const std::string bytes = "GGUF" + le<uint32_t>(3) + le<uint64_t>(0) + le<uint64_t>(1) + empty.kvs;  // no padding
  CHECK(parse(bytes).tensors().empty());
}

TEST_CASE("gguf: every truncation is an error, never a bad read") {
  const std::string bytes = sample().bytes();
  for (size_t n = 0; n + 1 < bytes.size(); ++n) {
    INFO("truncated to " << n << " bytes");
    CHECK_THROWS_AS(parse(bytes.substr(0, n)), slim::Error);
  }
}

TEST_CASE("gguf: hostile headers name what is wrong") {
  expect_rejected("GGUX" + std::string(20, '\0'), "no \"GGUF\" magic");
  Builder b;
  b.version = 1;
  expect_rejected(b.bytes(), "version 1 is not supported");
  b.version = 0x03000000;
  expect_rejected(b.bytes(), "big-endian");

  // Counts far beyond the file.
  expect_rejected("GGUF" + le<uint32_t>(3) + le<uint64_t>(0) + le<uint64_t>(~uint64_t{0} / 2), "metadata count");
  expect_rejected("GGUF" + le<uint32_t>(3) + le<uint64_t>(uint64_t{1} << 40) + le<uint64_t>(0), "tensor count",
                  slim::ErrorCode::limit_exceeded);
  expect_rejected("GGUF" + le<uint32_t>(3) + le<uint64_t>(1000) + le<uint64_t>(0), "tensor count 1000 is more than the file can hold");

  expect_rejected(Builder().kv("k", static_cast<GgufType>(13), "").bytes(), "'k' has unknown value type 13");
  expect_rejected(Builder().kv("k", GgufType::string, le<uint64_t>(~uint64_t{0}) + "x").bytes(), "metadata key 'k' runs past");
  expect_rejected(Builder().array("a", GgufType::u32, uint64_t{1} << 20, "").bytes(), "'a' has 1048576 elements");
  expect_rejected(Builder().array("a", GgufType::string, uint64_t{1} << 20, "").bytes(), "'a' has 1048576 strings");
  expect_rejected(Builder().array("a", GgufType::f32, ~uint64_t{0}, "").bytes(), "'a': array length",
                  slim::ErrorCode::limit_exceeded);
  expect_rejected(Builder().array("a", GgufType::string, 2, str("x") + le<uint64_t>(100)).bytes(), "'a' element 1");
  expect_rejected(Builder().array("a", GgufType::array, 0, "").bytes(), "array of arrays");
  expect_rejected(Builder().kv("k", GgufType::u8, "1").kv("k", GgufType::u8, "2").bytes(), "'k' appears twice");
  expect_rejected(Builder().kv("general.alignment", GgufType::u32, le<uint32_t>(12)).bytes(), "not a power of two");
  expect_rejected(Builder().kv("general.alignment", GgufType::u64, le<uint64_t>(32)).bytes(), "is u64, not u32");

  const std::string f6 = floats({1, 2, 3, 4, 5, 6});
  expect_rejected(Builder().tensor("t", 0, {}, "").bytes(), "'t' has 0 dimensions");
  expect_rejected(Builder().tensor("t", 0, {1, 1, 1, 1, 1}, "").bytes(), "'t' has 5 dimensions");
  expect_rejected(Builder().tensor("t", 4, {6}, f6).bytes(), "'t' has unknown ggml type 4");
  expect_rejected(Builder().tensor("t", 8, {16}, std::string(34, '\0')).bytes(), "not a multiple of Q8_0's block of 32");
  expect_rejected(Builder().tensor("t", 0, {uint64_t{1} << 40, uint64_t{1} << 40}, "").bytes(), "impossibly large");
  expect_rejected(Builder().tensor("t", 0, {7}, f6).bytes(), "'t' (28 bytes at offset 0) runs past the end of the data area");
  expect_rejected(Builder().tensor("t", 0, {6}, f6).tensor("t", 0, {6}, f6).bytes(), "'t' appears twice");
  {
    Builder over;
    over.tensor("a", 0, {6}, f6).tensor("b", 0, {6}, f6);
    // Point b's offset (the last 8 bytes of its info) at a's data.
    over.infos.replace(over.infos.size() - 8, 8, le<uint64_t>(0));
    expect_rejected(over.bytes(), "tensors 'a' and 'b' overlap");
    over.infos.replace(over.infos.size() - 8, 8, le<uint64_t>(4));
    expect_rejected(over.bytes(), "'b' has offset 4, not a multiple of the alignment 32");
    over.infos.replace(over.infos.size() - 8, 8, le<uint64_t>(~uint64_t{0} - 31));
    expect_rejected(over.bytes(), "'b'");
  }
}

TEST_CASE("gguf: F16, BF16, Q8_0, Q4_0 and the K-quant tensors become slim's dtypes") {
  const GgufFile g = parse(Builder()
                               .tensor("h", 1, {2}, std::string(4, '\x3c'))
                               .tensor("b", 30, {2}, std::string(4, '\x3f'))
                               .tensor("q8", 8, {32}, std::string(34, '\x01'))
                               .tensor("q4", 2, {32, 2}, std::string(36, '\x02'))
                               .bytes());
  CHECK(g.tensor(*g.find_tensor("h")).dtype() == slim::DType::f16);
  CHECK(g.tensor(*g.find_tensor("b")).dtype() == slim::DType::bf16);
  CHECK(g.tensor(*g.find_tensor("q8")).dtype() == slim::DType::q8_0);
  const slim::Tensor q4 = g.tensor(*g.find_tensor("q4"));
  CHECK(q4.dtype() == slim::DType::q4_0);
  CHECK(q4.dim(0) == 2);
  CHECK(q4.dim(1) == 32);
  CHECK(q4.nbytes() == 36);
  // Q4_K, Q5_K, Q6_K: ids 12-14, super-blocks of 256 values in 144, 176 and 210 bytes.
  const GgufFile k = parse(Builder()
                               .tensor("q4k", 12, {256, 2}, std::string(288, '\x01'))
                               .tensor("q5k", 13, {512}, std::string(352, '\x02'))
                               .tensor("q6k", 14, {256}, std::string(210, '\x03'))
                               .bytes());
  for (const auto& [name, dtype, bytes] : {std::tuple{"q4k", slim::DType::q4_k, 288}, {"q5k", slim::DType::q5_k, 352},
                                           {"q6k", slim::DType::q6_k, 210}}) {
    INFO(name);
    const slim::Tensor t = k.tensor(*k.find_tensor(name));
    CHECK(t.dtype() == dtype);
    CHECK(t.nbytes() == static_cast<size_t>(bytes));
  }
}

TEST_CASE("gguf: Q4_1, Q5_0 and Q5_1 tensors become slim's dtypes, and every mapped type has slim's block size") {
  const GgufFile g = parse(Builder()
                               .tensor("q41", 3, {32, 2}, std::string(40, '\x01'))
                               .tensor("q50", 6, {64}, std::string(44, '\x02'))
                               .tensor("q51", 7, {32}, std::string(24, '\x03'))
                               .bytes());
  const slim::Tensor q41 = g.tensor(*g.find_tensor("q41"));
  CHECK(q41.dtype() == slim::DType::q4_1);
  CHECK(q41.dim(0) == 2);
  CHECK(q41.nbytes() == 40);
  CHECK(g.tensor(*g.find_tensor("q50")).dtype() == slim::DType::q5_0);
  CHECK(g.tensor(*g.find_tensor("q51")).dtype() == slim::DType::q5_1);
  for (uint32_t id = 0; id < 64; ++id) {
    const auto dtype = slim::io::ggml_to_dtype(id);
    if (!dtype) continue;
    INFO("ggml type " << id);
    const auto* info = slim::io::ggml_type_info(id);
    REQUIRE(info != nullptr);
    CHECK(static_cast<int64_t>(info->block_values) == slim::dtype_block_elems(*dtype));
    CHECK(info->block_bytes == slim::dtype_block_bytes(*dtype));
  }
}

TEST_CASE("gguf: types slim does not compute with are named") {
  const GgufFile g = parse(Builder().tensor("blk.0.ffn_down.weight", 10, {256}, std::string(84, '\0')).bytes());
  CHECK_THROWS_WITH(g.tensor(g.tensors()[0]), Catch::Contains("'blk.0.ffn_down.weight' has type Q2_K"));
}

TEST_CASE("gguf: the fixtures parse") {
  const auto dir = slim::test::shared_dir() / "fixtures" / "gguf";
  const GgufFile vocab = GgufFile::open(dir / "vocab" / "ggml-vocab-llama-spm.gguf");
  CHECK(vocab.string("tokenizer.ggml.model") == "llama");
  CHECK(vocab.string_array("tokenizer.ggml.tokens")->size() == 32000);
  for (const char* arch : {"llama", "qwen2"}) {
    const GgufFile g = GgufFile::open(dir / "models" / arch / "model-q4_0.gguf");
    CHECK(g.string("general.architecture") == arch);
    const auto* embed = g.find_tensor("token_embd.weight");
    REQUIRE(embed != nullptr);
    CHECK(embed->shape() == std::vector<int64_t>{512, 256});
    for (const auto& t : g.tensors()) CHECK_NOTHROW(g.tensor(t));
  }
}

namespace {

// A file of architecture `arch` with the hyperparameters every reader needs (hidden 8, 4 heads of
// 2, `layers` layers, vocabulary 4), the extra keys a test adds, and a token embedding.
Builder arch_file(const std::string& arch, uint32_t layers, uint32_t heads = 4) {
  Builder b;
  b.kv("general.architecture", GgufType::string, str(arch))
      .kv(arch + ".embedding_length", GgufType::u32, le<uint32_t>(8))
      .kv(arch + ".feed_forward_length", GgufType::u32, le<uint32_t>(16))
      .kv(arch + ".block_count", GgufType::u32, le(layers))
      .kv(arch + ".attention.head_count", GgufType::u32, le(heads))
      .kv(arch + ".attention.head_count_kv", GgufType::u32, le<uint32_t>(2))
      .kv(arch + ".context_length", GgufType::u32, le<uint32_t>(64))
      .kv(arch + ".attention.layer_norm_rms_epsilon", GgufType::f32, le<float>(1e-6f));
  b.tensor("token_embd.weight", 0, {8, 4}, std::string(8 * 4 * 4, '\0'));
  return b;
}

slim::ModelConfig config_of(const Builder& b) {
  const GgufFile g = parse(b.bytes());
  return slim::parse_config(slim::gguf_config_json(g), "test.gguf");
}

}  // namespace

TEST_CASE("gguf: each architecture's keys become the config transformers would have") {
  SECTION("gemma2: llama.cpp's query scale, soft-caps, alternating windows") {
    Builder b = arch_file("gemma2", 3);
    b.kv("gemma2.attn_logit_softcapping", GgufType::f32, le<float>(50.0f))
        .kv("gemma2.final_logit_softcapping", GgufType::f32, le<float>(30.0f))
        .kv("gemma2.attention.sliding_window", GgufType::u32, le<uint32_t>(16));
    const slim::ModelConfig c = config_of(b);
    CHECK(c.arch == slim::Arch::gemma2);
    CHECK(c.traits.query_scale == Approx(1.0 / std::sqrt(2.0)));  // head_dim 8 / 4 = 2
    CHECK(c.traits.attn_softcap == 50.0);
    CHECK(c.traits.final_softcap == 30.0);
    CHECK(c.traits.sliding_window == 16);
    CHECK(c.is_local_layer(0));
    CHECK_FALSE(c.is_local_layer(1));
    // An explicit scale (what slim writes) wins over llama.cpp's rule.
    b.kv("gemma2.attention.scale", GgufType::f32, le<float>(0.25f));
    CHECK(config_of(b).traits.query_scale == Approx(0.25));
  }
  SECTION("gemma2 27B: hidden / heads, as llama.cpp's loader computes it") {
    Builder b = arch_file("gemma2", 46);
    b.kv("gemma2.attention.key_length", GgufType::u32, le<uint32_t>(4))
        .kv("gemma2.attention.value_length", GgufType::u32, le<uint32_t>(4));
    CHECK(config_of(b).traits.query_scale == Approx(1.0 / std::sqrt(2.0)));  // 8 / 4, not head_dim 4
  }
  SECTION("gemma3: one global layer in 6, local RoPE base") {
    Builder b = arch_file("gemma3", 7);
    b.kv("gemma3.attention.sliding_window", GgufType::u32, le<uint32_t>(8))
        .kv("gemma3.rope.freq_base", GgufType::f32, le<float>(1e6f));
    const slim::ModelConfig c = config_of(b);
    CHECK(c.arch == slim::Arch::gemma3);
    for (int64_t l = 0; l < 7; ++l) CHECK(c.is_local_layer(l) == (l != 5));
    CHECK(c.traits.local_rope_theta == 10000.0);
    CHECK(c.traits.attn_softcap == 0.0);
    b.kv("gemma3.attention.sliding_window_pattern", GgufType::u32, le<uint32_t>(2))
        .kv("gemma3.rope.freq_base_swa", GgufType::f32, le<float>(500.0f));
    const slim::ModelConfig d = config_of(b);
    CHECK(d.is_local_layer(0));
    CHECK_FALSE(d.is_local_layer(1));
    CHECK(d.traits.local_rope_theta == 500.0);
  }
  SECTION("llama with experts is Mixtral") {
    Builder b = arch_file("llama", 2);
    b.kv("llama.expert_count", GgufType::u32, le<uint32_t>(4)).kv("llama.expert_used_count", GgufType::u32, le<uint32_t>(2));
    const slim::ModelConfig c = config_of(b);
    CHECK(c.arch == slim::Arch::mixtral);
    CHECK(c.moe.num_experts == 4);
    CHECK(c.moe.top_k == 2);
    CHECK(c.moe.normalize_top_k);
    CHECK(c.moe.expert_intermediate_size == 16);
  }
  SECTION("qwen2moe: shared expert, no renormalisation, dense layers where no router is") {
    Builder b = arch_file("qwen2moe", 2);
    b.kv("qwen2moe.expert_count", GgufType::u32, le<uint32_t>(4))
        .kv("qwen2moe.expert_used_count", GgufType::u32, le<uint32_t>(2))
        .kv("qwen2moe.expert_feed_forward_length", GgufType::u32, le<uint32_t>(6))
        .kv("qwen2moe.expert_shared_feed_forward_length", GgufType::u32, le<uint32_t>(12))
        .tensor("blk.1.ffn_gate_inp.weight", 0, {8, 4}, std::string(8 * 4 * 4, '\0'));
    const slim::ModelConfig c = config_of(b);
    CHECK(c.arch == slim::Arch::qwen2moe);
    CHECK(c.moe.expert_intermediate_size == 6);
    CHECK(c.moe.shared_expert_intermediate_size == 12);
    CHECK_FALSE(c.moe.normalize_top_k);
    CHECK_FALSE(c.is_moe_layer(0));
    CHECK(c.is_moe_layer(1));
  }
  SECTION("qwen3moe renormalises; qwen3 and smollm3") {
    Builder b = arch_file("qwen3moe", 1);
    b.kv("qwen3moe.expert_count", GgufType::u32, le<uint32_t>(4))
        .kv("qwen3moe.expert_used_count", GgufType::u32, le<uint32_t>(2))
        .tensor("blk.0.ffn_gate_inp.weight", 0, {8, 4}, std::string(8 * 4 * 4, '\0'));
    const slim::ModelConfig c = config_of(b);
    CHECK(c.arch == slim::Arch::qwen3moe);
    CHECK(c.moe.normalize_top_k);
    CHECK(c.moe.expert_intermediate_size == 8);  // feed_forward_length / expert_used_count
    CHECK(config_of(arch_file("qwen3", 1)).traits.qk_norm);
    const slim::ModelConfig s = config_of(arch_file("smollm3", 8));
    CHECK(s.arch == slim::Arch::smollm3);
    for (int64_t l = 0; l < 8; ++l) CHECK(s.traits.no_rope_layers[static_cast<size_t>(l)] == (l % 4 == 3));
  }
  SECTION("hostile values are errors, not divisions by zero or endless loops") {
    CHECK_THROWS_AS(config_of(arch_file("gemma2", 2, 0)), slim::Error);
    Builder no_used = arch_file("qwen2moe", 2);
    no_used.kv("qwen2moe.expert_count", GgufType::u32, le<uint32_t>(4));
    CHECK_THROWS_AS(config_of(no_used), slim::Error);
    Builder many_layers = arch_file("qwen3moe", 1u << 30);
    many_layers.kv("qwen3moe.expert_count", GgufType::u32, le<uint32_t>(4))
        .kv("qwen3moe.expert_used_count", GgufType::u32, le<uint32_t>(2));
    CHECK_THROWS_AS(config_of(many_layers), slim::Error);
  }
}

TEST_CASE("gguf: a stacked tensor's slices are its experts") {
  Builder b;
  b.tensor("exps", 0, {2, 1, 3}, floats({1, 2, 3, 4, 5, 6}));  // 3 experts of [1 row, 2 cols]
  const GgufFile g = parse(b.bytes());
  const auto* info = g.find_tensor("exps");
  REQUIRE(info != nullptr);
  for (int64_t e = 0; e < 3; ++e) {
    const slim::Tensor t = g.slice(*info, e);
    REQUIRE(t.shape().size() == 2);
    CHECK(t.dim(0) == 1);
    CHECK(t.dim(1) == 2);
    CHECK(t.data_as<float>()[0] == static_cast<float>(2 * e + 1));
    CHECK(t.data_as<float>()[1] == static_cast<float>(2 * e + 2));
  }
  CHECK_THROWS_AS(g.slice(*info, 3), slim::Error);
  CHECK_THROWS_AS(g.slice(*info, -1), slim::Error);
}
