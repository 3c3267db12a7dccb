#include "tokenizer/pre_tokenizers.hpp"

#include <algorithm>
#include <utility>

#include "tokenizer/byte_level.hpp"
#include "tokenizer/json_util.hpp"

namespace slim::tok {
namespace {

using Matches = std::vector<std::pair<size_t, size_t>>;

enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

Behavior parse_behavior(const std::string& name, std::string_view what) {
  if (name == "Removed") return Behavior::removed;
  if (name == "Isolated") return Behavior::isolated;
  if (name == "MergedWithPrevious") return Behavior::merged_with_previous;
  if (name == "MergedWithNext") return Behavior::merged_with_next;
  if (name == "Contiguous") return Behavior::contiguous;
  throw Error(ErrorCode::unsupported, "tokenizer.json: " + std::string(what) +
                                          " has unsupported behavior '" + name + "'");
}

// Cuts `text` at the matches the way Hugging Face's NormalizedString::split does.
void split_by_matches(std::string_view text, const Matches& matches, bool invert,
                      Behavior behavior, std::vector<std::string>& out) {
  struct Span {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Span> spans;
  size_t last = 0;
  for (const auto& [begin, end] : matches) {
    if (begin > last) spans.push_back({last, begin, invert});
    spans.push_back({begin, end, !invert});
    last = end;
  }
  if (last < text.size()) spans.push_back({last, text.size(), invert});

  std::vector<std::pair<size_t, size_t>> pieces;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::removed:
      for (const Span& s : spans) {
        if (!s.is_match) pieces.emplace_back(s.begin, s.end);
      }
      break;
    case Behavior::isolated:
      for (const Span& s : spans) pieces.emplace_back(s.begin, s.end);
      break;
    case Behavior::merged_with_previous:
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !pieces.empty()) {
          pieces.back().second = s.end;
        } else {
          pieces.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
    case Behavior::merged_with_next:
      for (size_t i = spans.size(); i-- > 0;) {
        const Span& s = spans[i];
        if (s.is_match && !previous_match && !pieces.empty()) {
          pieces.back().first = s.begin;
        } else {
          pieces.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    case Behavior::contiguous:
      for (size_t i = 0; i < spans.size(); ++i) {
        const Span& s = spans[i];
        if (i > 0 && s.is_match == previous_match) {
          pieces.back().second = s.end;
        } else {
          pieces.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
  }
  for (const auto& [begin, end] : pieces) {
    if (end > begin) out.emplace_back(text.substr(begin, end - begin));
  }
}

// Base for pre-tokenizers that cut each piece independently.
class PieceWise : public PreTokenizer {
 public:
  void split(std::vector<std::string>& pieces, bool first_section) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size());
    for (std::string& piece : pieces) split_piece(piece, first_section, out);
    pieces = std::move(out);
  }

 protected:
  virtual void split_piece(std::string& piece, bool first_section,
                           std::vector<std::string>& out) const = 0;
};

class RegexSplit : public PieceWise {
 public:
  RegexSplit(Regex pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

 protected:
  void split_piece(std::string& piece, bool, std::vector<std::string>& out) const override {
    Matches matches;
    pattern_.find_all(piece, matches);
    split_by_matches(piece, matches, invert_, behavior_, out);
  }

 private:
  Regex pattern_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's pattern, which ByteLevel uses when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel : public PieceWise {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex) pattern_ = std::make_unique<Regex>(kGpt2Pattern, "pre_tokenizer ByteLevel");
  }

 protected:
  void split_piece(std::string& piece, bool, std::vector<std::string>& out) const override {
    if (add_prefix_space_ && piece.front() != ' ') piece = " " + piece;
    if (!pattern_) {
      out.emplace_back();
      append_byte_level(out.back(), piece);
      return;
    }
    Matches matches;
    pattern_->find_all(piece, matches);
    std::vector<std::string> words;
    split_by_matches(piece, matches, false, Behavior::isolated, words);
    for (const std::string& word : words) {
      out.emplace_back();
      append_byte_level(out.back(), word);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> pattern_;
};

class Metaspace : public PieceWise {
 public:
  enum class Prepend { always, first, never };
  Metaspace(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split),
        delimiter_(Regex::literal(replacement_, "pre_tokenizer Metaspace")) {}

 protected:
  void split_piece(std::string& piece, bool first_section,
                   std::vector<std::string>& out) const override {
    std::string text;
    text.reserve(piece.size() + replacement_.size());
    for (const char c : piece) {
      if (c == ' ') {
        text += replacement_;
      } else {
        text += c;
      }
    }
    const bool prepend = prepend_ == Prepend::always || (prepend_ == Prepend::first && first_section);
    if (prepend && text.compare(0, replacement_.size(), replacement_) != 0) {
      text = replacement_ + text;
    }
    if (!split_) {
      out.push_back(std::move(text));
      return;
    }
    Matches matches;
    delimiter_.find_all(text, matches);
    split_by_matches(text, matches, false, Behavior::merged_with_next, out);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
  Regex delimiter_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void split(std::vector<std::string>& pieces, bool first_section) const override {
    for (const auto& step : steps_) step->split(pieces, first_section);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& config) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, "pre_tokenizer");
  const std::string what = "pre_tokenizer " + type;
  if (type == "Split") {
    return std::make_unique<RegexSplit>(
        pattern_field(config, what),
        parse_behavior(string_field(config, "behavior", what, "Isolated"), what),
        bool_field(config, "invert", what, false));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevel>(bool_field(config, "add_prefix_space", what, true),
                                       bool_field(config, "use_regex", what, true));
  }
  if (type == "Metaspace") {
    Metaspace::Prepend prepend =
        bool_field(config, "add_prefix_space", what, true) ? Metaspace::Prepend::always
                                                           : Metaspace::Prepend::never;
    if (const json* scheme = member(config, "prepend_scheme")) {
      const std::string s = scheme->is_string() ? scheme->get<std::string>() : "";
      if (s == "always") prepend = Metaspace::Prepend::always;
      else if (s == "first") prepend = Metaspace::Prepend::first;
      else if (s == "never") prepend = Metaspace::Prepend::never;
      else bad_field(what, "prepend_scheme", "must be \"always\", \"first\" or \"never\"");
    }
    return std::make_unique<Metaspace>(string_field(config, "replacement", what, "\u2581"), prepend,
                                       bool_field(config, "split", what, true));
  }
  if (type == "Digits") {
    const bool individual = bool_field(config, "individual_digits", what, false);
    return std::make_unique<RegexSplit>(Regex("\\p{N}", what),
                                        individual ? Behavior::isolated : Behavior::contiguous,
                                        false);
  }
  if (type == "Whitespace") {
    return std::make_unique<RegexSplit>(Regex("\\w+|[^\\w\\s]+", what), Behavior::removed, true);
  }
  if (type == "WhitespaceSplit") {
    return std::make_unique<RegexSplit>(Regex("\\s+", what), Behavior::removed, false);
  }
  if (type == "Sequence") {
    const json* list = member(config, "pretokenizers");
    if (!list || !list->is_array()) bad_field(what, "pretokenizers", "must be an array");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const json& step : *list) {
      if (auto p = make_pre_tokenizer(step)) steps.push_back(std::move(p));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  unsupported_component("pre_tokenizer", type);
}

}  // namespace slim::tok
