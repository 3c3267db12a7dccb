#include "tokenizer/normalizers.hpp"

#include <vector>

#include "tokenizer/json_util.hpp"
#include "tokenizer/unicode.hpp"

namespace slim::tok {
namespace {

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void normalize(std::string& text) const override { normalize_unicode(form_, text); }

 private:
  NormalForm form_;
};

// Hugging Face prepends only to non-empty text.
class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text = prefix_ + text;
  }

 private:
  std::string prefix_;
};

class Replace : public Normalizer {
 public:
  Replace(Regex pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    pattern_.find_all(text, matches);
    if (matches.empty()) return;
    std::string out;
    out.reserve(text.size() + matches.size() * content_.size());
    size_t last = 0;
    for (const auto& [begin, end] : matches) {
      out.append(text, last, begin - last);
      out += content_;
      last = end;
    }
    out.append(text, last);
    text = std::move(out);
  }

 private:
  Regex pattern_;
  std::string content_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(std::string& text) const override { lowercase_unicode(text); }
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    std::string_view v = text;
    if (left_) v = trim_start(v);
    if (right_) v = trim_end(v);
    text = std::string(v);
  }

 private:
  bool left_, right_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(std::string& text) const override {
    for (const auto& step : steps_) step->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const json& config) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, "normalizer");
  const std::string what = "normalizer " + type;
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::nfc);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::nfd);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::nfkc);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::nfkd);
  if (type == "Prepend") return std::make_unique<Prepend>(string_field(config, "prepend", what));
  if (type == "Replace") {
    return std::make_unique<Replace>(pattern_field(config, what),
                                     string_field(config, "content", what, ""));
  }
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip") {
    return std::make_unique<Strip>(bool_field(config, "strip_left", what, true),
                                   bool_field(config, "strip_right", what, true));
  }
  if (type == "Sequence") {
    const json* list = member(config, "normalizers");
    if (!list || !list->is_array()) bad_field(what, "normalizers", "must be an array");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const json& step : *list) {
      if (auto n = make_normalizer(step)) steps.push_back(std::move(n));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  unsupported_component("normalizer", type);
}

}  // namespace slim::tok
