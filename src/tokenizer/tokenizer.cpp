// slim::Tokenizer: loading tokenizer.json / tokenizer_config.json, encode and decode. The
// pipeline follows Hugging Face tokenizers (and tokenizers.js, which made the test fixtures):
// added tokens -> normalizer -> pre-tokenizer -> BPE -> post-processor; ids -> tokens -> decoder
// -> clean-up.
#include "io/gguf.hpp"
#include "limits_check.hpp"
#include "slim/error.hpp"
#include "slim/tokenizer.hpp"
#include "tokenizer/cleanup.hpp"
#include "tokenizer/gguf_tokenizer.hpp"
#include "tokenizer/json_util.hpp"
#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/tokenizer_json.hpp"

namespace slim {
namespace {

using tok::json;

// tokenizer_config.json writes special tokens as "text" or {"content": "text", ...}.
std::optional<std::string> config_token(const json& config, const char* key) {
  const json* v = tok::member(config, key);
  if (!v) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (const json* content = tok::member(*v, "content"); content && content->is_string()) {
    return content->get<std::string>();
  }
  throw Error(ErrorCode::invalid_format, std::string("tokenizer_config.json: field '") + key +
                                             "' must be a string or {\"content\": ...}");
}

void load_added_tokens(const json& doc, Tokenizer::Impl& impl, const Limits& limits) {
  const json* list = tok::member(doc, "added_tokens");
  if (!list) return;
  if (!list->is_array()) tok::bad_field("tokenizer", "added_tokens", "must be an array");
  check_limit("tokenizer.json: added_tokens count", list->size(), "max_added_tokens", limits.max_added_tokens);
  const std::string what = "added_tokens entry";
  for (const json& entry : *list) {
    auto t = std::make_unique<tok::AddedToken>();
    t->content = tok::string_field(entry, "content", what);
    const int64_t id = tok::int_field(entry, "id", what, -1);
    if (id < 0) tok::bad_field(what, "id", "is missing or negative");
    check_limit("tokenizer.json: added token id + 1", static_cast<uint64_t>(id) + 1, "max_vocab_size",
                limits.max_vocab_size);
    t->id = static_cast<int32_t>(id);
    t->special = tok::bool_field(entry, "special", what, false);
    t->single_word = tok::bool_field(entry, "single_word", what, false);
    t->lstrip = tok::bool_field(entry, "lstrip", what, false);
    t->rstrip = tok::bool_field(entry, "rstrip", what, false);
    t->normalized = tok::bool_field(entry, "normalized", what, !t->special);
    impl.added_by_id[t->id] = t.get();
    impl.added_by_content[t->content] = t->id;
    impl.added_tokens.push_back(std::move(t));
  }
}

// `config` is tokenizer_config.json's object (null without the file).
std::unique_ptr<Tokenizer::Impl> build(tok::TokenizerFile file, const json& config, const Limits& limits) {
  auto impl = std::make_unique<Tokenizer::Impl>();
  const json& doc = file.doc;
  if (!doc.is_object()) throw Error(ErrorCode::invalid_format, "tokenizer.json: not a JSON object");

  const json* model = tok::member(doc, "model");
  if (!model) tok::bad_field("tokenizer", "model", "is missing");
  const std::string model_type = tok::string_field(*model, "type", "model", "BPE");
  if (model_type != "BPE") tok::unsupported_component("model", model_type);
  impl->model = std::make_unique<tok::BpeModel>(*model, file);

  load_added_tokens(doc, *impl, limits);
  static const json null_json;
  auto part = [&](const char* key) -> const json& {
    const json* p = tok::member(doc, key);
    return p ? *p : null_json;
  };
  impl->normalizer = tok::make_normalizer(part("normalizer"));
  impl->pre_tokenizer = tok::make_pre_tokenizer(part("pre_tokenizer"));
  impl->post_processor = tok::make_post_processor(part("post_processor"));
  std::unordered_set<std::string> added_contents;
  for (const auto& t : impl->added_tokens) added_contents.insert(t->content);
  impl->decoder = tok::make_decoder(part("decoder"), added_contents);

  for (const auto& t : impl->added_tokens) {
    if (!t->normalized || !impl->normalizer) {
      impl->raw_matcher.add(t->content, t.get());
    } else {
      std::string content = t->content;
      impl->normalizer->normalize(content);
      impl->normalized_matcher.add(content, t.get());
    }
  }

  impl->vocab_size = impl->model->vocab().size();
  for (const auto& t : impl->added_tokens) impl->vocab_size = std::max(impl->vocab_size, t->id + 1);

  Tokenizer::Impl& self = *impl;
  auto lookup = [&self](const std::string& token) -> std::optional<int32_t> {
    if (const auto it = self.added_by_content.find(token); it != self.added_by_content.end()) {
      return it->second;
    }
    if (const int32_t id = self.model->vocab().find(token); id >= 0) return id;
    return std::nullopt;
  };
  const std::string what = "tokenizer_config.json";
  if (const auto bos = config_token(config, "bos_token")) impl->bos = lookup(*bos);
  if (!impl->bos && impl->post_processor) impl->bos = impl->post_processor->leading_token();
  if (const auto eos = config_token(config, "eos_token")) impl->eos = lookup(*eos);
  auto config_bool = [&](const char* key, bool fallback) {
    const json* v = tok::member(config, key);
    if (!v) return fallback;
    if (!v->is_boolean()) {
      throw Error(ErrorCode::invalid_format, what + ": field '" + key + "' must be true or false");
    }
    return v->get<bool>();
  };
  impl->add_bos = config_bool("add_bos_token", false);
  impl->add_eos = config_bool("add_eos_token", false);
  // transformers and tokenizers.js default to cleaning up when the config does not say.
  impl->clean_up_spaces = !config.is_null() && config_bool("clean_up_tokenization_spaces", true);

  // Special = skipped by skip_special_tokens: special added tokens and the config's
  // additional_special_tokens, matched by content as tokenizers.js does.
  impl->special.assign(static_cast<size_t>(impl->vocab_size), false);
  auto mark_special = [&](const std::string& content) {
    if (const auto it = impl->added_by_content.find(content); it != impl->added_by_content.end()) {
      impl->special[it->second] = true;
    }
    if (const int32_t id = impl->model->vocab().find(content); id >= 0) impl->special[id] = true;
  };
  for (const auto& t : impl->added_tokens) {
    if (t->special) mark_special(t->content);
  }
  if (const json* extra = tok::member(config, "additional_special_tokens"); extra && extra->is_array()) {
    for (const json& e : *extra) {
      if (e.is_string()) mark_special(e.get<std::string>());
      if (const json* c = tok::member(e, "content"); c && c->is_string()) mark_special(c->get<std::string>());
    }
  }
  return impl;
}

}  // namespace

// ---- Impl ----

std::string_view Tokenizer::Impl::token(int32_t id) const {
  if (const auto it = added_by_id.find(id); it != added_by_id.end()) return it->second->content;
  return id < model->vocab().size() ? model->vocab().token(id) : std::string_view();
}

tok::WordCache Tokenizer::Impl::take_cache() const {
  std::lock_guard lock(cache_mutex);
  return std::exchange(shared_cache, tok::WordCache{});
}

void Tokenizer::Impl::return_cache(tok::WordCache cache) const {
  std::lock_guard lock(cache_mutex);
  if (cache.size() >= shared_cache.size()) shared_cache = std::move(cache);
}

void Tokenizer::Impl::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size) {
    throw Error(ErrorCode::invalid_argument, "token id " + std::to_string(id) +
                                                 " is outside the vocabulary [0, " +
                                                 std::to_string(vocab_size) + ")");
  }
}

std::string Tokenizer::Impl::decode_tokens(std::vector<std::string> tokens, bool at_start,
                                           bool final, bool raw_bytes) const {
  std::string out;
  if (!decoder) {  // Hugging Face joins the tokens with spaces
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0 || !at_start) out += ' ';
      out += tokens[i];
    }
    return out;
  }
  tok::DecodeFlags flags{at_start, false, final, raw_bytes};
  decoder->decode(tokens, flags);
  for (const std::string& t : tokens) out += t;
  return out;
}

// ---- Tokenizer ----

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir, const Limits& limits) {
  const std::filesystem::path json_path = model_dir / "tokenizer.json";
  // A GGUF file, or a folder holding one instead of tokenizer.json.
  if (!std::filesystem::is_directory(model_dir) && io::is_gguf_file(model_dir)) return from_gguf(model_dir, limits);
  if (std::filesystem::is_directory(model_dir) && !std::filesystem::exists(json_path)) {
    if (const auto gguf = io::find_gguf(model_dir)) return from_gguf(*gguf, limits);
  }
  const std::filesystem::path config_path = model_dir / "tokenizer_config.json";
  if (!std::filesystem::is_regular_file(json_path)) {
    throw Error(ErrorCode::io, json_path.string() + ": no such file");
  }
  const std::string text = read_file_limited(json_path, limits.max_tokenizer_json_bytes, "max_tokenizer_json_bytes");
  const std::string config = std::filesystem::is_regular_file(config_path)
                                 ? read_file_limited(config_path, limits.max_json_bytes, "max_json_bytes")
                                 : "";
  try {
    return from_json(text, config, limits);
  } catch (const Error& e) {
    throw Error(e.code(), model_dir.string() + "/" + e.what());
  }
}

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                               const Limits& limits) {
  check_limit("tokenizer.json: size", tokenizer_json.size(), "max_tokenizer_json_bytes", limits.max_tokenizer_json_bytes);
  check_limit("tokenizer_config.json: size", tokenizer_config_json.size(), "max_json_bytes", limits.max_json_bytes);
  tok::TokenizerFile file = tok::parse_tokenizer_json(tokenizer_json, limits);
  json config;
  if (!tokenizer_config_json.empty()) {
    try {
      config = json::parse(tokenizer_config_json);
    } catch (const json::exception& e) {
      throw Error(ErrorCode::invalid_format, std::string("tokenizer_config.json: ") + e.what());
    }
    if (!config.is_object()) {
      throw Error(ErrorCode::invalid_format, "tokenizer_config.json: not a JSON object");
    }
  }
  return Tokenizer(build(std::move(file), config, limits));
}

Tokenizer Tokenizer::from_gguf(const std::filesystem::path& gguf_file, const Limits& limits) {
  const io::GgufFile gguf = io::GgufFile::open(gguf_file, true, limits);
  tok::GgufTokenizer t = tok::tokenizer_from_gguf(gguf, limits);
  try {
    return Tokenizer(build(std::move(t.file), t.config, limits));
  } catch (const Error& e) {
    throw Error(e.code(), gguf_file.string() + ": tokenizer.ggml.*: " + e.what());
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const Impl& m = *impl_;
  std::vector<int32_t> ids;
  tok::WordCache cache = m.take_cache();
  std::vector<tok::AddedTokenMatcher::Section> sections, subsections;
  if (m.raw_matcher.empty()) {
    sections.push_back({text, nullptr});
  } else {
    m.raw_matcher.split(text, options.parse_special, sections);
  }
  std::vector<std::string> words;
  for (size_t k = 0; k < sections.size(); ++k) {
    if (sections[k].token) {
      ids.push_back(sections[k].token->id);
      continue;
    }
    if (sections[k].text.empty()) continue;
    std::string normalized(sections[k].text);
    if (m.normalizer) m.normalizer->normalize(normalized);
    if (normalized.empty()) continue;
    subsections.clear();
    if (m.normalized_matcher.empty()) {
      subsections.push_back({normalized, nullptr});
    } else {
      m.normalized_matcher.split(normalized, options.parse_special, subsections);
    }
    for (const auto& sub : subsections) {
      if (sub.token) {
        ids.push_back(sub.token->id);
        continue;
      }
      if (sub.text.empty()) continue;
      words.assign(1, std::string(sub.text));
      if (m.pre_tokenizer) m.pre_tokenizer->split(words, k == 0);
      for (const std::string& word : words) m.model->encode_word(word, ids, cache);
    }
  }
  m.return_cache(std::move(cache));
  if (options.add_special_tokens) {
    if (m.post_processor && m.post_processor->has_template()) {
      m.post_processor->add_special_tokens(ids);
    } else {
      if (m.add_bos && m.bos) ids.insert(ids.begin(), *m.bos);
      if (m.add_eos && m.eos) ids.push_back(*m.eos);
    }
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& m = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    m.check_id(id);
    if (skip_special_tokens && m.special[id]) continue;
    tokens.emplace_back(m.token(id));
  }
  std::string text = m.decode_tokens(std::move(tokens), true, true);
  return m.clean_up_spaces ? tok::clean_up_tokenization(text) : text;
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos; }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const auto it = impl_->added_by_content.find(std::string(token)); it != impl_->added_by_content.end()) {
    return it->second;
  }
  if (const int32_t id = impl_->model->vocab().find(token); id >= 0) return id;
  return std::nullopt;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  impl_->check_id(id);
  return std::string(impl_->token(id));
}

std::string Tokenizer::token_bytes(int32_t id) const {
  impl_->check_id(id);
  return impl_->decode_tokens({std::string(impl_->token(id))}, /*at_start=*/false, /*final=*/true, /*raw_bytes=*/true);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < impl_->vocab_size && impl_->special[id];
}

}  // namespace slim
