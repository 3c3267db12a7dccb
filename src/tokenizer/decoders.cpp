#include "tokenizer/decoders.hpp"

#include "tokenizer/byte_level.hpp"
#include "tokenizer/json_util.hpp"
#include "tokenizer/utf8.hpp"

namespace slim::tok {
namespace {

// Appends `bytes` as valid UTF-8; unless `final`, an incomplete character at the end is dropped
// (the streaming decoder shows it once its last byte arrives).
void append_bytes(std::string& out, std::string_view bytes, const DecodeFlags& flags) {
  if (flags.raw_bytes) {
    out += bytes;
    return;
  }
  const bool final = flags.final;
  if (!final) bytes.remove_suffix(incomplete_utf8_tail(bytes));
  append_repaired_utf8(out, bytes);
}

class ByteLevel : public Decoder {
 public:
  explicit ByteLevel(std::unordered_set<std::string> added) : added_(std::move(added)) {}

  // Runs of ordinary tokens become bytes, decoded as UTF-8 together; added tokens stay text
  // (as tokenizers.js and transformers do).
  void decode(std::vector<std::string>& tokens, DecodeFlags& flags) const override {
    std::vector<std::string> out;
    std::string bytes;
    bool in_run = false;
    for (const std::string& token : tokens) {
      if (added_.count(token)) {
        if (in_run) {
          out.emplace_back();
          append_bytes(out.back(), bytes, DecodeFlags{true, false, true, flags.raw_bytes});
          bytes.clear(), in_run = false;
        }
        out.push_back(token);
        continue;
      }
      in_run = true;
      const size_t mark = bytes.size();
      for (size_t i = 0; i < token.size();) {
        const Utf8Step step = utf8_step(token, i);
        const int b = step.valid ? byte_level_byte(step.cp) : -1;
        if (b < 0) {  // not a byte-level token: keep its own bytes, as Hugging Face does
          bytes.resize(mark);
          bytes += token;
          break;
        }
        bytes += static_cast<char>(b);
        i += step.length;
      }
    }
    if (in_run) {
      out.emplace_back();
      append_bytes(out.back(), bytes, flags);
    }
    tokens = std::move(out);
  }

 private:
  std::unordered_set<std::string> added_;
};

// Runs of <0xNN> tokens become the UTF-8 text of their bytes.
class ByteFallback : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens, DecodeFlags& flags) const override {
    std::vector<std::string> out;
    std::string bytes;
    bool in_run = false;
    for (std::string& token : tokens) {
      if (const int b = byte_of(token); b >= 0) {
        bytes += static_cast<char>(b);
        in_run = true;
        continue;
      }
      if (in_run) {
        out.emplace_back();
        append_bytes(out.back(), bytes, DecodeFlags{true, false, true, flags.raw_bytes});
        bytes.clear(), in_run = false;
      }
      out.push_back(std::move(token));
    }
    if (in_run) {
      out.emplace_back();
      append_bytes(out.back(), bytes, flags);
    }
    tokens = std::move(out);
  }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }
  static int byte_of(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class Replace : public Decoder {
 public:
  Replace(Regex pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode(std::vector<std::string>& tokens, DecodeFlags&) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    for (std::string& token : tokens) {
      matches.clear();
      pattern_.find_all(token, matches);
      if (matches.empty()) continue;
      std::string out;
      size_t last = 0;
      for (const auto& [begin, end] : matches) {
        out.append(token, last, begin - last);
        out += content_;
        last = end;
      }
      out.append(token, last);
      token = std::move(out);
    }
  }

 private:
  Regex pattern_;
  std::string content_;
};

class Fuse : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens, DecodeFlags& flags) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
    flags.first_is_partial = !flags.first_is_start;
  }
};

// Removes up to `start` leading and `stop` trailing `content` characters from each token.
class Strip : public Decoder {
 public:
  Strip(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode(std::vector<std::string>& tokens, DecodeFlags& flags) const override {
    if (content_.empty()) return;
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string_view t = tokens[i];
      if (!(i == 0 && flags.first_is_partial)) {
        for (size_t k = 0; k < start_ && t.starts_with(content_); ++k) t.remove_prefix(content_.size());
      }
      for (size_t k = 0; k < stop_ && t.ends_with(content_); ++k) t.remove_suffix(content_.size());
      tokens[i] = std::string(t);
    }
  }
  bool splittable() const override { return stop_ == 0; }

 private:
  std::string content_;
  size_t start_, stop_;
};

// The replacement character becomes a space; the space it added in front of the text goes.
class Metaspace : public Decoder {
 public:
  Metaspace(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void decode(std::vector<std::string>& tokens, DecodeFlags& flags) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      std::string out;
      for (size_t k = 0; k < t.size();) {
        if (!replacement_.empty() && t.compare(k, replacement_.size(), replacement_) == 0) {
          out += ' ';
          k += replacement_.size();
        } else {
          out += t[k++];
        }
      }
      if (i == 0 && flags.first_is_start && !flags.first_is_partial && strip_first_ &&
          !out.empty() && out[0] == ' ') {
        out.erase(0, 1);
      }
      t = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class Sequence : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {
    bool fused = false;
    for (const auto& step : steps_) {
      if (!step->splittable()) splittable_ = false;
      if (!step->prefix_stable() || (fused && dynamic_cast<const Replace*>(step.get()))) {
        splittable_ = stable_ = false;
      }
      if (dynamic_cast<const Fuse*>(step.get())) fused = true;
    }
  }
  void decode(std::vector<std::string>& tokens, DecodeFlags& flags) const override {
    for (const auto& step : steps_) step->decode(tokens, flags);
  }
  bool splittable() const override { return splittable_; }
  bool prefix_stable() const override { return stable_; }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
  bool splittable_ = true;
  bool stable_ = true;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& config,
                                      const std::unordered_set<std::string>& added_tokens) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, "decoder");
  const std::string what = "decoder " + type;
  if (type == "ByteLevel") return std::make_unique<ByteLevel>(added_tokens);
  if (type == "ByteFallback") return std::make_unique<ByteFallback>();
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Replace") {
    return std::make_unique<Replace>(pattern_field(config, what),
                                     string_field(config, "content", what, ""));
  }
  if (type == "Strip") {
    const int64_t start = int_field(config, "start", what, 0);
    const int64_t stop = int_field(config, "stop", what, 0);
    if (start < 0 || stop < 0) bad_field(what, "start", "and 'stop' must not be negative");
    return std::make_unique<Strip>(string_field(config, "content", what, " "),
                                   static_cast<size_t>(start), static_cast<size_t>(stop));
  }
  if (type == "Metaspace") {
    bool strip_first = bool_field(config, "add_prefix_space", what, true);
    if (const json* scheme = member(config, "prepend_scheme"); scheme && scheme->is_string()) {
      strip_first = scheme->get<std::string>() != "never";
    }
    return std::make_unique<Metaspace>(string_field(config, "replacement", what, "\u2581"),
                                       strip_first);
  }
  if (type == "Sequence") {
    const json* list = member(config, "decoders");
    if (!list || !list->is_array()) bad_field(what, "decoders", "must be an array");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const json& step : *list) {
      if (auto d = make_decoder(step, added_tokens)) steps.push_back(std::move(d));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  unsupported_component("decoder", type);
}

}  // namespace slim::tok
