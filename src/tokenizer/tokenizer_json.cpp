#include "tokenizer/tokenizer_json.hpp"

#include "limits_check.hpp"
#include "slim/error.hpp"

namespace slim::tok {
namespace {

using json = nlohmann::json;

// Builds the DOM like nlohmann's own json_sax_dom_parser, except under model.vocab and
// model.merges, whose contents are stored in TokenizerFile's compact members instead.
class Handler : public nlohmann::json_sax<json> {
 public:
  Handler(TokenizerFile& out, const Limits& limits) : out_(out), limits_(limits) {}

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::vocab) return vocab_id(v);
    return value(v);
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::vocab) return vocab_id(v <= 0x7FFFFFFF ? static_cast<int64_t>(v) : -1);
    return value(v);
  }
  bool number_float(number_float_t v, const string_t&) override { return value(v); }
  bool string(string_t& v) override {
    if (mode_ == Mode::merges) return merge_string(v);
    if (mode_ == Mode::vocab) fail("model.vocab values must be token ids");
    return value(std::move(v));
  }
  bool binary(binary_t&) override { fail("unexpected binary value"); }

  bool start_object(std::size_t) override {
    if (mode_ != Mode::dom) fail("unexpected object inside model.vocab/model.merges");
    if (next_ == Mode::vocab) {
      mode_ = Mode::vocab, next_ = Mode::dom;
      out_.has_vocab = true;
      return true;
    }
    if (next_ == Mode::merges) fail("model.merges must be an array");
    json* j = value(json::value_t::object) ? last_ : nullptr;
    stack_.push_back(j);
    return true;
  }
  bool key(string_t& k) override {
    if (mode_ == Mode::vocab) {
      token_ = std::move(k);
      return true;
    }
    // Inside root -> "model": watch for the two big members.
    if (stack_.size() == 2 && in_model_) {
      if (k == "vocab") next_ = Mode::vocab;
      if (k == "merges") next_ = Mode::merges;
    }
    if (stack_.size() == 1) in_model_ = (k == "model");
    key_target_ = &(*stack_.back())[k];
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::vocab) {
      mode_ = Mode::dom;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::merges) {
      if (merge_depth_ != 1) fail("model.merges entries must be strings or pairs of strings");
      merge_depth_ = 2;
      pair_.clear();
      return true;
    }
    if (mode_ == Mode::vocab) fail("model.vocab values must be token ids");
    if (next_ == Mode::merges) {
      mode_ = Mode::merges, next_ = Mode::dom, merge_depth_ = 1;
      out_.has_merges = true;
      return true;
    }
    if (next_ == Mode::vocab) fail("model.vocab must be an object");
    value(json::value_t::array);
    stack_.push_back(last_);
    return true;
  }
  bool end_array() override {
    if (mode_ == Mode::merges) {
      if (merge_depth_ == 2) {
        if (pair_.size() != 2) fail("model.merges pair must have two strings");
        add_merge(pair_[0], pair_[1]);
        merge_depth_ = 1;
      } else {
        mode_ = Mode::dom;
      }
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    throw Error(ErrorCode::invalid_format, "tokenizer.json: malformed JSON at byte " +
                                               std::to_string(position) + ": " + e.what());
  }

 private:
  enum class Mode { dom, vocab, merges };

  [[noreturn]] static void fail(const std::string& what) {
    throw Error(ErrorCode::invalid_format, "tokenizer.json: " + what);
  }

  template <class V>
  bool value(V&& v) {
    if (mode_ != Mode::dom) fail("unexpected value inside model.vocab/model.merges");
    if (next_ != Mode::dom) fail(next_ == Mode::vocab ? "model.vocab must be an object"
                                                      : "model.merges must be an array");
    if (stack_.empty()) {
      out_.doc = json(std::forward<V>(v));
      last_ = &out_.doc;
    } else if (stack_.back()->is_array()) {
      stack_.back()->emplace_back(std::forward<V>(v));
      last_ = &stack_.back()->back();
    } else {
      *key_target_ = json(std::forward<V>(v));
      last_ = key_target_;
    }
    return true;
  }

  bool vocab_id(int64_t id) {
    if (id < 0 || id > 0x7FFFFFFF) fail("model.vocab id out of range for '" + token_ + "'");
    check_limit("tokenizer.json: model.vocab id + 1", static_cast<uint64_t>(id) + 1, "max_vocab_size",
                limits_.max_vocab_size);
    out_.model_vocab.add(token_, static_cast<int32_t>(id));
    return true;
  }

  bool merge_string(string_t& s) {
    if (merge_depth_ == 2) {
      pair_.push_back(std::move(s));
      return true;
    }
    // "a b": split at the first space (tokenizers.js splits with limit 2, so a third part is
    // ignored).
    const size_t space = s.find(' ');
    if (space == std::string::npos) fail("model.merges entry '" + s + "' has no space");
    size_t end = s.find(' ', space + 1);
    if (end == std::string::npos) end = s.size();
    add_merge(std::string_view(s).substr(0, space),
              std::string_view(s).substr(space + 1, end - space - 1));
    return true;
  }

  void add_merge(std::string_view a, std::string_view b) {
    RawMerges& m = out_.merges;
    check_limit("tokenizer.json: model.merges count", m.entries.size() + 1, "max_merges", limits_.max_merges);
    m.entries.push_back({static_cast<uint32_t>(m.arena.size()), static_cast<uint32_t>(a.size()),
                         static_cast<uint32_t>(b.size())});
    m.arena.append(a);
    m.arena.append(b);
  }

  TokenizerFile& out_;
  const Limits& limits_;
  std::vector<json*> stack_;
  json* key_target_ = nullptr;
  json* last_ = nullptr;
  bool in_model_ = false;
  Mode mode_ = Mode::dom;
  Mode next_ = Mode::dom;
  int merge_depth_ = 0;
  std::string token_;
  std::vector<std::string> pair_;
};

}  // namespace

TokenizerFile parse_tokenizer_json(std::string_view text, const Limits& limits) {
  TokenizerFile out;
  Handler handler(out, limits);
  json::sax_parse(text.begin(), text.end(), &handler);
  if (out.merges.arena.size() > 0xFFFFFFFFu) {
    throw Error(ErrorCode::limit_exceeded, "tokenizer.json: model.merges too large");
  }
  return out;
}

}  // namespace slim::tok
