#include "tokenizer/gguf_tokenizer.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "limits_check.hpp"
#include "slim/error.hpp"
#include "tokenizer/json_util.hpp"
#include "tokenizer/utf8.hpp"

namespace slim::tok {
namespace {

using json = nlohmann::json;

// GGUF's token types (llama.cpp's llama_token_type).
enum TokenType : int64_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

json split(const char* regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}
json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}
json digits(bool individual) { return {{"type", "Digits"}, {"individual_digits", individual}}; }
json sequence(std::initializer_list<json> parts) {
  json list = json::array();
  for (const json& p : parts) list.push_back(p);
  return {{"type", "Sequence"}, {"pretokenizers", std::move(list)}};
}
const json kNfc = {{"type", "NFC"}};

// The normalizer and pre-tokenizer of each family's tokenizer.json, by tokenizer.ggml.pre (the
// names llama.cpp's convert_hf_to_gguf.py writes). The regexes are the published ones of each
// model's tokenizer.json.
struct PreTokenizer {
  json normalizer, pre_tokenizer;
  bool ignore_merges = false;
  bool add_bos = false;  // when the file has no tokenizer.ggml.add_bos_token
};

constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kCjk = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";

std::optional<PreTokenizer> known_pre(std::string_view pre) {
  auto is = [&](std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), pre) != names.end();
  };
  if (is({"llama3", "llama-v3", "llama-bpe", "falcon3"})) {
    return PreTokenizer{nullptr, sequence({split(kLlama3Regex), byte_level(false)}), true, true};
  }
  if (is({"dbrx", "smaug-bpe"})) return PreTokenizer{nullptr, sequence({split(kLlama3Regex), byte_level(false)})};
  if (is({"qwen2", "deepseek-r1-qwen", "megrez"})) return PreTokenizer{kNfc, sequence({split(kQwen2Regex), byte_level(false)})};
  if (is({"gpt-2", "phi-2", "olmo", "jais", "roberta-bpe", "jina-v1-en", "jina-v2-code", "jina-v2-es", "jina-v2-de",
          "jina-es", "jina-de", "gigachat"})) {
    return PreTokenizer{nullptr, byte_level(true)};
  }
  if (is({"mpt", "gpt-neox"})) return PreTokenizer{kNfc, byte_level(true)};  // GPT-NeoX-20B's tokenizer
  if (is({"starcoder", "refact", "smollm", "codeshell"})) return PreTokenizer{nullptr, sequence({digits(true), byte_level(true)})};
  if (pre == "command-r") return PreTokenizer{kNfc, sequence({digits(true), byte_level(true)})};
  if (pre == "falcon") {
    // Falcon's Punctuation pre-tokenizer (Contiguous): Unicode punctuation plus the ASCII
    // punctuation characters Unicode calls symbols, as Rust's is_ascii_punctuation does.
    return PreTokenizer{nullptr, sequence({split("[\\p{P}$+<=>^~|`]+"), byte_level(true),
                                           {{"type", "Digits"}, {"individual_digits", false}}, split("[0-9][0-9][0-9]")})};
  }
  if (pre == "deepseek-llm") {
    return PreTokenizer{
        nullptr,
        sequence({split("[\r\n]"),
                  split("\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
                        "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5"
                        "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba"
                        "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45"
                        "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe"
                        "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc"
                        "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134"
                        "\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee"
                        "\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf"
                        "\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
                        "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
                        "\U0001e900-\U0001e943]+"),
                  split("\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+"), split("\\s+$"),
                  split(kCjk), split("\\p{N}+"), byte_level(false)})};
  }
  if (pre == "deepseek-coder") {
    return PreTokenizer{nullptr, sequence({split("[\r\n]"), split("\\s?\\p{L}+"), split("\\s?\\p{P}+"), split(kCjk),
                                           digits(true), byte_level(false)})};
  }
  return std::nullopt;
}

[[noreturn]] void bad(const io::GgufFile& g, const std::string& what) {
  throw Error(ErrorCode::invalid_format, g.path().string() + ": " + what);
}

void add_merge(RawMerges& m, std::string_view a, std::string_view b) {
  m.entries.push_back({static_cast<uint32_t>(m.arena.size()), static_cast<uint32_t>(a.size()), static_cast<uint32_t>(b.size())});
  m.arena.append(a);
  m.arena.append(b);
}

// SentencePiece BPE merges the adjacent pair whose joined piece scores highest. As a BPE merge list
// (what Hugging Face's SentencePieceExtractor writes): every split of every piece into two pieces
// of the vocabulary, ranked by the joined piece's score (highest first), then its id, then the
// ids of the two halves.
void merges_from_scores(const std::vector<std::string_view>& tokens, const std::vector<double>& scores, RawMerges& out) {
  std::unordered_map<std::string_view, int32_t> ids;
  ids.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) ids[tokens[i]] = static_cast<int32_t>(i);
  struct Merge {
    double score;
    int32_t id, left, right;
    uint32_t split;
  };
  std::vector<Merge> merges;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string_view t = tokens[i];
    for (size_t k = t.empty() ? 0 : utf8_step(t, 0).length; k < t.size(); k += utf8_step(t, k).length) {
      const auto l = ids.find(t.substr(0, k));
      if (l == ids.end()) continue;
      const auto r = ids.find(t.substr(k));
      if (r == ids.end()) continue;
      merges.push_back({scores[i], static_cast<int32_t>(i), l->second, r->second, static_cast<uint32_t>(k)});
    }
  }
  std::sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.id != b.id) return a.id < b.id;
    if (a.left != b.left) return a.left < b.left;
    return a.right < b.right;
  });
  for (const Merge& m : merges) {
    const std::string_view t = tokens[static_cast<size_t>(m.id)];
    add_merge(out, t.substr(0, m.split), t.substr(m.split));
  }
}

}  // namespace

bool gguf_pre_known(std::string_view pre) { return known_pre(pre).has_value(); }

GgufTokenizer tokenizer_from_gguf(const io::GgufFile& g, const Limits& limits) {
  const auto model = g.string("tokenizer.ggml.model");
  if (!model) bad(g, "has no tokenizer (no metadata key 'tokenizer.ggml.model')");
  const bool spm = *model == "llama";
  if (!spm && *model != "gpt2") {
    throw Error(ErrorCode::unsupported, g.path().string() + ": metadata key 'tokenizer.ggml.model' is '" + std::string(*model) +
                                            "'; slim reads 'llama' (SentencePiece) and 'gpt2' (byte-level BPE) vocabularies");
  }
  const auto tokens = g.string_array("tokenizer.ggml.tokens");
  if (!tokens) bad(g, "has no metadata key 'tokenizer.ggml.tokens'");
  const size_t n = tokens->size();
  check_limit(g.path().string() + ": tokenizer.ggml.tokens count", n, "max_vocab_size", limits.max_vocab_size);
  std::vector<int64_t> types = g.integer_array("tokenizer.ggml.token_type").value_or(std::vector<int64_t>(n, normal));
  if (types.size() != n) bad(g, "metadata key 'tokenizer.ggml.token_type' has " + std::to_string(types.size()) + " entries for " + std::to_string(n) + " tokens");

  GgufTokenizer out;
  TokenizerFile& file = out.file;
  for (size_t i = 0; i < n; ++i) file.model_vocab.add((*tokens)[i], static_cast<int32_t>(i));
  file.has_vocab = true;
  file.has_merges = true;
  auto token_of = [&](const char* key) -> std::optional<std::string> {
    const auto id = g.integer(key);
    if (!id) return std::nullopt;
    if (*id < 0 || static_cast<uint64_t>(*id) >= n) {
      bad(g, "metadata key '" + std::string(key) + "' is " + std::to_string(*id) + ", outside the " + std::to_string(n) + " tokens");
    }
    return std::string((*tokens)[static_cast<size_t>(*id)]);
  };

  json model_json = {{"type", "BPE"}, {"dropout", nullptr}};
  json& doc = file.doc;
  PreTokenizer pre;
  if (spm) {
    const auto scores = g.number_array("tokenizer.ggml.scores");
    if (!scores) bad(g, "has a SentencePiece vocabulary without metadata key 'tokenizer.ggml.scores'");
    if (scores->size() != n) bad(g, "metadata key 'tokenizer.ggml.scores' has " + std::to_string(scores->size()) + " entries for " + std::to_string(n) + " tokens");
    merges_from_scores(*tokens, *scores, file.merges);
    check_limit(g.path().string() + ": merges made from tokenizer.ggml.scores", file.merges.entries.size(), "max_merges", limits.max_merges);
    // Llama's tokenizer.json: "▁" for spaces and before the text, byte fallback, <unk> fused.
    const bool prefix = g.boolean("tokenizer.ggml.add_space_prefix").value_or(true);
    json normalizers = json::array();
    if (prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", "\u2581"}});
    normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}});
    pre.normalizer = {{"type", "Sequence"}, {"normalizers", normalizers}};
    json decoders = {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                     {{"type", "ByteFallback"}},
                     {{"type", "Fuse"}}};
    if (prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    doc["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
    model_json["byte_fallback"] = true;
    model_json["fuse_unk"] = true;
    std::optional<std::string> unk = token_of("tokenizer.ggml.unknown_token_id");
    if (!unk) {
      for (size_t i = 0; i < n && !unk; ++i) {
        if (types[i] == unknown) unk = std::string((*tokens)[i]);
      }
    }
    if (unk) model_json["unk_token"] = *unk;
    pre.add_bos = true;
  } else {
    const auto merges = g.string_array("tokenizer.ggml.merges");
    if (!merges) bad(g, "has a gpt2 vocabulary without metadata key 'tokenizer.ggml.merges'");
    check_limit(g.path().string() + ": tokenizer.ggml.merges count", merges->size(), "max_merges", limits.max_merges);
    for (size_t i = 0; i < merges->size(); ++i) {
      const std::string_view m = (*merges)[i];
      const size_t space = m.find(' ');
      if (space == std::string_view::npos) bad(g, "metadata key 'tokenizer.ggml.merges' entry " + std::to_string(i) + " has no space");
      add_merge(file.merges, m.substr(0, space), m.substr(space + 1));
    }
    if (file.merges.arena.size() > 0xFFFFFFFFu) bad(g, "metadata key 'tokenizer.ggml.merges' is too large");
    pre = known_pre(g.string("tokenizer.ggml.pre").value_or("")).value_or(PreTokenizer{nullptr, byte_level(true)});
    doc["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  }
  model_json["ignore_merges"] = pre.ignore_merges;
  doc["model"] = std::move(model_json);
  doc["normalizer"] = std::move(pre.normalizer);
  doc["pre_tokenizer"] = std::move(pre.pre_tokenizer);

  // Control, user-defined and unknown tokens are the added tokens of tokenizer.json (the converter
  // writes special ones as control, the others as user-defined); all match in the raw text.
  // Phi-3's tokenizer.json strips the whitespace after its chat tokens and </s> (rstrip), which
  // GGUF has no key for; llama.cpp recognises the model by name, and so does this.
  std::string name(g.string("general.name").value_or(""));
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const bool phi3 = name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos;
  json added = json::array();
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = types[i];
    const std::string_view content = (*tokens)[i];
    if ((t != control && t != user_defined && t != unknown) || content.empty()) continue;
    const bool rstrip = phi3 && ((t == control && content != "<unk>" && content != "<s>" && content != "<|endoftext|>") ||
                                 content == "</s>");
    added.push_back({{"id", i}, {"content", std::string(content)}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", rstrip}, {"normalized", false}, {"special", t != user_defined}});
  }
  check_limit(g.path().string() + ": added tokens (control, user-defined, unknown)", added.size(), "max_added_tokens", limits.max_added_tokens);
  doc["added_tokens"] = std::move(added);

  json& config = out.config;
  config = json::object();
  if (auto bos = token_of("tokenizer.ggml.bos_token_id")) config["bos_token"] = *bos;
  if (auto eos = token_of("tokenizer.ggml.eos_token_id")) config["eos_token"] = *eos;
  config["add_bos_token"] = g.boolean("tokenizer.ggml.add_bos_token").value_or(pre.add_bos);
  config["add_eos_token"] = g.boolean("tokenizer.ggml.add_eos_token").value_or(false);
  config["clean_up_tokenization_spaces"] = g.boolean("tokenizer.ggml.clean_spaces").value_or(false);
  return out;
}

}  // namespace slim::tok

namespace slim::tok {
namespace {

// The parts of a normalizer / pre-tokenizer JSON that change how text is cut, so that two
// descriptions of the same splitting compare equal (trim_offsets only moves offsets).
json splitting(const json& j) {
  if (j.is_array()) {
    json out = json::array();
    for (const json& e : j) out.push_back(splitting(e));
    return out;
  }
  if (!j.is_object()) return j;
  json out = json::object();
  for (const auto& [key, value] : j.items()) {
    if (key != "trim_offsets") out[key] = splitting(value);
  }
  return out;
}

// The tokenizer.ggml.pre name whose pre-tokenizer is the file's (names llama.cpp knows, the
// first of each group in known_pre).
std::optional<std::string> pre_of(const json& normalizer, const json& pre_tokenizer, bool ignore_merges) {
  static constexpr const char* kNames[] = {"llama-bpe", "dbrx",    "qwen2",  "gpt-2",        "mpt",           "smollm",
                                           "command-r", "falcon",  "deepseek-llm", "deepseek-coder"};
  const json norm = splitting(normalizer), pre = splitting(pre_tokenizer);
  for (const char* name : kNames) {
    const PreTokenizer p = *known_pre(name);
    if (p.ignore_merges == ignore_merges && splitting(p.normalizer) == norm && splitting(p.pre_tokenizer) == pre) return name;
  }
  return std::nullopt;
}

// SentencePiece-style: Llama's normalizer (Prepend "▁", spaces to "▁") or Metaspace.
bool adds_space_prefix(const json& doc) {
  const json* n = member(doc, "normalizer");
  if (n != nullptr) {
    const json* list = member(*n, "normalizers");
    for (const json& e : list != nullptr ? *list : json::array({*n})) {
      if (e.value("type", "") == "Prepend") return true;
    }
  }
  const json* p = member(doc, "pre_tokenizer");
  return p != nullptr && p->value("type", "") == "Metaspace" && p->value("prepend_scheme", "always") != "never";
}

std::string merge_text(const RawMerges& m, const RawMerges::Entry& e, bool joined) {
  const std::string_view left(m.arena.data() + e.offset, e.left_length);
  const std::string_view right(m.arena.data() + e.offset + e.left_length, e.right_length);
  return std::string(left) + (joined ? "" : " ") + std::string(right);
}

bool is_byte_token(std::string_view t) {
  return t.size() == 6 && t.substr(0, 3) == "<0x" && t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
         std::isxdigit(static_cast<unsigned char>(t[4]));
}

}  // namespace

bool add_gguf_tokenizer(const TokenizerFile& file, const json& config, const Tokenizer& tokenizer, int64_t vocab_size,
                        io::GgufWriter& out, const std::function<void(const std::string&)>& warn) {
  const json* model = member(file.doc, "model");
  if (model == nullptr || model->value("type", "") != "BPE") {
    throw Error(ErrorCode::unsupported, "tokenizer.json: GGUF holds BPE tokenizers; this one's model is '" +
                                            (model != nullptr ? model->value("type", "") : std::string()) + "'");
  }
  const bool spm = model->value("byte_fallback", false);
  const int64_t n = std::max<int64_t>(tokenizer.vocab_size(), vocab_size);
  if (tokenizer.vocab_size() > vocab_size) {
    throw Error(ErrorCode::unsupported, "tokenizer.json has " + std::to_string(tokenizer.vocab_size()) +
                                            " tokens, more than the model's vocab_size " + std::to_string(vocab_size));
  }
  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int32_t> types(static_cast<size_t>(n), normal);
  for (int32_t id = 0; id < n; ++id) {
    tokens[static_cast<size_t>(id)] = id < tokenizer.vocab_size() ? tokenizer.id_to_token(id) : "";
    if (tokens[static_cast<size_t>(id)].empty()) {
      tokens[static_cast<size_t>(id)] = "[PAD" + std::to_string(id) + "]";  // as convert_hf_to_gguf.py pads
      types[static_cast<size_t>(id)] = unused;
    } else if (spm && is_byte_token(tokens[static_cast<size_t>(id)])) {
      types[static_cast<size_t>(id)] = byte;
    }
  }
  bool rstrip = false;
  if (const json* added = member(file.doc, "added_tokens")) {
    for (const json& a : *added) {
      const int64_t id = a.value("id", int64_t{-1});
      if (id < 0 || id >= n) continue;
      types[static_cast<size_t>(id)] = a.value("special", false) ? control : user_defined;
      rstrip = rstrip || a.value("rstrip", false);
    }
  }
  std::optional<int32_t> unk;
  if (const json* u = member(*model, "unk_token"); u != nullptr && u->is_string()) {
    if (auto id = tokenizer.token_to_id(u->get<std::string>())) {
      unk = *id;
      types[static_cast<size_t>(*id)] = unknown;
    }
  }

  out.add_string("tokenizer.ggml.model", spm ? "llama" : "gpt2");
  if (spm) {
    out.add_string("tokenizer.ggml.pre", "default");
  } else {
    const json* normalizer = member(file.doc, "normalizer");
    const json* pre_tokenizer = member(file.doc, "pre_tokenizer");
    const auto pre = pre_of(normalizer ? *normalizer : json(), pre_tokenizer ? *pre_tokenizer : json(),
                            model->value("ignore_merges", false));
    if (!pre && warn) {
      warn("tokenizer.json's normalizer and pre-tokenizer are none that a tokenizer.ggml.pre name stands for; written as "
           "'default', which GGUF readers split as GPT-2's pre-tokenizer does");
    }
    out.add_string("tokenizer.ggml.pre", pre.value_or("default"));
  }
  out.add_strings("tokenizer.ggml.tokens", tokens);
  if (spm) {
    // tokenizer_from_gguf ranks the merges by the joined piece's score: each piece scores minus
    // the rank of the first merge that makes it, pieces no merge makes below them all.
    std::vector<float> scores(static_cast<size_t>(n), -1e9f);
    for (size_t r = file.merges.entries.size(); r-- > 0;) {
      if (auto id = tokenizer.token_to_id(merge_text(file.merges, file.merges.entries[r], true))) {
        scores[static_cast<size_t>(*id)] = -static_cast<float>(r);
      }
    }
    out.add_f32s("tokenizer.ggml.scores", scores);
  }
  out.add_i32s("tokenizer.ggml.token_type", types);
  if (!spm) {
    std::vector<std::string> merges;
    merges.reserve(file.merges.entries.size());
    for (const RawMerges::Entry& e : file.merges.entries) merges.push_back(merge_text(file.merges, e, false));
    out.add_strings("tokenizer.ggml.merges", merges);
  }
  if (auto bos = tokenizer.bos_id()) out.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(*bos));
  if (auto eos = tokenizer.eos_id()) out.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(*eos));
  if (unk) out.add_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(*unk));
  if (const json* pad = member(config, "pad_token")) {
    const json* content = pad->is_object() ? member(*pad, "content") : pad;
    if (content != nullptr && content->is_string()) {
      if (auto id = tokenizer.token_to_id(content->get<std::string>())) out.add_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(*id));
    }
  }
  // What encode() adds, whether from tokenizer_config.json or the post-processor's template.
  const std::vector<int32_t> with = tokenizer.encode("a"), without = tokenizer.encode("a", {.add_special_tokens = false});
  const bool added = with.size() > without.size();
  out.add_bool("tokenizer.ggml.add_bos_token", added && tokenizer.bos_id() && with.front() == *tokenizer.bos_id());
  out.add_bool("tokenizer.ggml.add_eos_token", added && tokenizer.eos_id() && with.back() == *tokenizer.eos_id());
  if (spm) out.add_bool("tokenizer.ggml.add_space_prefix", adds_space_prefix(file.doc));
  // transformers defaults to cleaning up when the config does not say (as Tokenizer does).
  const json* clean = member(config, "clean_up_tokenization_spaces");
  out.add_bool("tokenizer.ggml.clean_spaces", !config.is_null() && (clean == nullptr || (clean->is_boolean() && clean->get<bool>())));
  return rstrip;
}

}  // namespace slim::tok
