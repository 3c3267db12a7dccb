// The GBNF parser: llama.cpp's grammar format (grammars/README.md of llama.cpp), read into a
// RuleBuilder. Newlines end a rule except inside parentheses and after `::=` or `|`.
#include "grammar/gbnf.hpp"

#include "grammar/builder.hpp"
#include "slim/error.hpp"

namespace slim::grammar {
namespace {

class Parser {
 public:
  Parser(std::string_view s, RuleBuilder& b) : s_(s), b_(b) {}

  void parse() {
    space(true);
    while (p_ < s_.size()) {
      const size_t at = p_;
      const std::string_view n = name();
      space(false);
      if (s_.substr(p_, 3) != "::=") fail("expected '::=' after rule name", p_);
      p_ += 3;
      space(true);
      const uint32_t id = b_.rule_id(n);
      if (b_.defined(id)) fail("rule '" + std::string(n) + "' is defined twice", at);
      b_.define(id, alternatives(false));
      if (p_ < s_.size() && s_[p_] != '\n' && s_[p_] != '\r') fail("unexpected character", p_);
      space(true);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& msg, size_t at) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') ++line, col = 1;
      else ++col;
    }
    throw Error(ErrorCode::invalid_format, "grammar " + std::to_string(line) + ":" + std::to_string(col) + ": " + msg);
  }

  static bool word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }

  void space(bool newlines) {
    while (p_ < s_.size()) {
      const char c = s_[p_];
      if (c == ' ' || c == '\t') ++p_;
      else if (c == '#') while (p_ < s_.size() && s_[p_] != '\n') ++p_;
      else if (newlines && (c == '\n' || c == '\r')) ++p_;
      else break;
    }
  }

  std::string_view name() {
    const size_t start = p_;
    while (p_ < s_.size() && word_char(s_[p_])) ++p_;
    if (p_ == start) fail("expected a rule name", start);
    return s_.substr(start, p_ - start);
  }

  std::vector<Seq> alternatives(bool nested) {
    std::vector<Seq> alts;
    alts.push_back(sequence(nested));
    for (;;) {
      const size_t save = p_;
      if (!nested) space(true);  // a top-level alternative may go on on the next line with '|'
      if (p_ < s_.size() && s_[p_] == '|') {
        ++p_;
        space(true);
        alts.push_back(sequence(nested));
      } else {
        p_ = save;
        return alts;
      }
    }
  }

  uint32_t hex(size_t digits) {
    uint32_t v = 0;
    for (size_t i = 0; i < digits; ++i, ++p_) {
      if (p_ >= s_.size()) fail("unfinished escape", p_);
      const char c = s_[p_];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail("bad hex digit in escape", p_);
      v = v * 16 + static_cast<uint32_t>(d);
    }
    if (v > 0x10FFFF) fail("escape is past U+10FFFF", p_);
    return v;
  }

  // One character of a literal or class: an escape or a UTF-8 sequence.
  char32_t character() {
    if (p_ >= s_.size()) fail("unexpected end of grammar", p_);
    const auto c = static_cast<unsigned char>(s_[p_]);
    if (c == '\\') {
      if (++p_ >= s_.size()) fail("unfinished escape", p_);
      const char e = s_[p_++];
      switch (e) {
        case 'x': return hex(2);
        case 'u': return hex(4);
        case 'U': return hex(8);
        case 'n': return '\n';
        case 'r': return '\r';
        case 't': return '\t';
        case '0': return 0;
        case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': case '.': return static_cast<unsigned char>(e);
        default: fail(std::string("unknown escape '\\") + e + "'", p_ - 2);
      }
    }
    const int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || p_ + static_cast<size_t>(len) > s_.size()) fail("invalid UTF-8", p_);
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int i = 1; i < len; ++i) {
      const auto cc = static_cast<unsigned char>(s_[p_ + static_cast<size_t>(i)]);
      if ((cc >> 6) != 2) fail("invalid UTF-8", p_);
      cp = (cp << 6) | (cc & 0x3F);
    }
    p_ += static_cast<size_t>(len);
    return cp;
  }

  int number() {
    const size_t start = p_;
    long v = 0;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      v = v * 10 + (s_[p_++] - '0');
      if (v > 1000000) fail("repetition count too large", start);
    }
    if (p_ == start) fail("expected a number", start);
    return static_cast<int>(v);
  }

  Seq sequence(bool nested) {
    Seq seq;
    size_t last = 0;      // where the last item starts in seq
    bool have_item = false;
    while (p_ < s_.size()) {
      const char c = s_[p_];
      const size_t at = p_;
      if (c == '"') {
        ++p_;
        last = seq.size(), have_item = true;
        while (p_ < s_.size() && s_[p_] != '"') b_.append_codepoint(seq, character());
        if (p_ >= s_.size()) fail("unterminated literal", at);
        ++p_;
      } else if (c == '[') {
        ++p_;
        bool negated = false;
        if (p_ < s_.size() && s_[p_] == '^') negated = true, ++p_;
        Ranges ranges;
        while (p_ < s_.size() && s_[p_] != ']') {
          const char32_t lo = character();
          char32_t hi = lo;
          if (p_ + 1 < s_.size() && s_[p_] == '-' && s_[p_ + 1] != ']') {
            ++p_;
            hi = character();
            if (hi < lo) fail("character range is backwards", at);
          }
          ranges.emplace_back(lo, hi);
        }
        if (p_ >= s_.size()) fail("unterminated character class", at);
        ++p_;
        last = seq.size(), have_item = true;
        seq.push_back(b_.char_class(std::move(ranges), negated));
      } else if (c == '.') {
        ++p_;
        last = seq.size(), have_item = true;
        seq.push_back(b_.char_class({{0, 0x10FFFF}}, false));
      } else if (c == '(') {
        ++p_;
        space(true);
        std::vector<Seq> alts = alternatives(true);
        if (p_ >= s_.size() || s_[p_] != ')') fail("expected ')'", p_);
        ++p_;
        const uint32_t g = b_.fresh_rule("group");
        b_.define(g, std::move(alts));
        last = seq.size(), have_item = true;
        seq.push_back({Rules::rule, g});
      } else if (word_char(c)) {
        const std::string_view n = name();
        // `name ::=` starts the next rule (a rule may follow on the next line inside no group).
        size_t q = p_;
        while (q < s_.size() && (s_[q] == ' ' || s_[q] == '\t')) ++q;
        if (s_.substr(q, 3) == "::=") fail("missing newline before rule '" + std::string(n) + "'", at);
        last = seq.size(), have_item = true;
        seq.push_back({Rules::rule, b_.rule_id(n)});
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (!have_item) fail(std::string("'") + c + "' follows nothing", at);
        ++p_;
        int min = 0, max = -1;
        if (c == '+') min = 1;
        if (c == '?') max = 1;
        if (c == '{') {
          space(false);
          min = max = number();
          space(false);
          if (p_ < s_.size() && s_[p_] == ',') {
            ++p_;
            space(false);
            max = p_ < s_.size() && s_[p_] == '}' ? -1 : number();
            space(false);
          }
          if (p_ >= s_.size() || s_[p_] != '}') fail("expected '}'", p_);
          ++p_;
          if (max >= 0 && max < min) fail("repetition maximum is below its minimum", at);
        }
        const Seq item(seq.begin() + static_cast<std::ptrdiff_t>(last), seq.end());
        seq.resize(last);
        b_.append_repeat(seq, item, min, max);
        have_item = false;  // `x**` is not a thing
      } else {
        break;
      }
      space(nested);
    }
    return seq;
  }

  std::string_view s_;
  size_t p_ = 0;
  RuleBuilder& b_;
};

}  // namespace

Grammar::Rules parse_gbnf(std::string_view text, std::string source) {
  RuleBuilder b;
  Parser(text, b).parse();
  return b.finish("root", std::move(source));
}

std::string gbnf_literal(std::string_view bytes) {
  std::string out = "\"";
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || u < 0x20) {
      static const char* hex = "0123456789ABCDEF";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace slim::grammar
