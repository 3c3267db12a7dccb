// An anchored regex to one GBNF expression, as llama.cpp's json-schema-to-grammar does for a
// schema's "pattern" (the whole string must match; ^ and $ at the ends are allowed).
#include <cstdio>

#include "grammar/gbnf.hpp"
#include "slim/error.hpp"

namespace slim::grammar {
namespace {

std::string esc(char32_t cp) {
  if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == ' ') {
    return std::string(1, static_cast<char>(cp));
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\U%08X", static_cast<unsigned>(cp));
  return buf;
}

class RegexParser {
 public:
  RegexParser(std::string_view s, bool json) : s_(s), json_(json) {}

  std::string parse() {
    if (p_ < s_.size() && s_[p_] == '^') ++p_;
    std::string out = alternation(0);
    if (p_ < s_.size()) fail(s_[p_] == ')' ? "unbalanced ')'" : "unexpected character");
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(ErrorCode::invalid_format, "regex column " + std::to_string(p_ + 1) + ": " + msg);
  }

  char32_t codepoint() {
    const auto c = static_cast<unsigned char>(s_[p_]);
    const int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || p_ + static_cast<size_t>(len) > s_.size()) fail("invalid UTF-8");
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int i = 1; i < len; ++i) {
      const auto cc = static_cast<unsigned char>(s_[p_ + static_cast<size_t>(i)]);
      if ((cc >> 6) != 2) fail("invalid UTF-8");
      cp = (cp << 6) | (cc & 0x3F);
    }
    p_ += static_cast<size_t>(len);
    return cp;
  }

  // The class body (without brackets) of \d \w \s, or "" when `e` is not a class escape.
  static std::string class_escape(char e) {
    switch (e) {
      case 'd': case 'D': return "0-9";
      case 'w': case 'W': return "a-zA-Z0-9_";
      case 's': case 'S': return " \\t\\n\\r\\U0000000B\\U0000000C";
      default: return "";
    }
  }

  char32_t escaped_char(char e) {
    switch (e) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'f': return '\f';
      case 'v': return '\v';
      case '0': return 0;
      default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
          --p_;
          fail(std::string("unsupported escape '\\") + e + "'");
        }
        return static_cast<unsigned char>(e);
    }
  }

  // A character as GBNF; inside a JSON string, one that JSON escapes is written escaped.
  std::string lit(char32_t cp) const {
    if (json_ && (cp == '"' || cp == '\\')) return std::string("\"\\\\") + esc(cp) + "\"";
    if (json_ && cp < 0x20) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\"\\\\u%04X\"", static_cast<unsigned>(cp));
      return buf;
    }
    std::string out = "\"";
    return out.append(esc(cp)).append("\"");
  }

  std::string alternation(int depth) {
    if (depth > 200) fail("groups nested too deep");
    std::string out = "(";
    out += sequence(depth);
    while (p_ < s_.size() && s_[p_] == '|') {
      ++p_;
      out += " | " + sequence(depth);
    }
    return out + ")";
  }

  std::string sequence(int depth) {
    std::string out;
    while (p_ < s_.size() && s_[p_] != '|' && s_[p_] != ')') {
      if (s_[p_] == '$' && p_ + 1 == s_.size()) {
        ++p_;
        break;
      }
      std::string atom = this->atom(depth);
      atom += quantifier();
      out += (out.empty() ? "" : " ") + atom;
    }
    return out.empty() ? "\"\"" : out;
  }

  std::string atom(int depth) {
    const char c = s_[p_];
    if (c == '(') {
      ++p_;
      if (s_.substr(p_, 2) == "?:") p_ += 2;
      else if (p_ < s_.size() && s_[p_] == '?') fail("unsupported group kind");
      std::string g = alternation(depth + 1);
      if (p_ >= s_.size() || s_[p_] != ')') fail("expected ')'");
      ++p_;
      return g;
    }
    if (c == '[') return char_class();
    if (c == '.') return ++p_, json_ ? "[^\\n\"\\\\\\x00-\\x1F]" : "[^\\n]";
    if (c == '*' || c == '+' || c == '?' || c == '{') fail(std::string("'") + c + "' follows nothing");
    if (c == '^' || c == '$') fail("anchors are only allowed at the ends");
    if (c == '\\') {
      if (++p_ >= s_.size()) fail("unfinished escape");
      const char e = s_[p_++];
      if (const std::string cls = class_escape(e); !cls.empty()) {
        return std::string(e >= 'a' ? "[" : "[^") + cls + "]";
      }
      return lit(escaped_char(e));
    }
    return lit(codepoint());
  }

  void class_escape_ranges(char e, std::vector<std::pair<char32_t, char32_t>>& r) {
    if (e == 'd') r.emplace_back('0', '9');
    if (e == 'w') r.emplace_back('a', 'z'), r.emplace_back('A', 'Z'), r.emplace_back('0', '9'), r.emplace_back('_', '_');
    if (e == 's') r.emplace_back(' ', ' '), r.emplace_back('\t', '\r');
  }

  std::string char_class() {
    ++p_;
    bool negated = false;
    if (p_ < s_.size() && s_[p_] == '^') negated = true, ++p_;
    std::vector<std::pair<char32_t, char32_t>> ranges;
    bool first = true;
    while (p_ < s_.size() && (s_[p_] != ']' || first)) {
      first = false;
      char32_t lo;
      if (s_[p_] == '\\') {
        if (++p_ >= s_.size()) fail("unfinished escape");
        const char e = s_[p_++];
        if (!class_escape(e).empty()) {
          if (e < 'a') fail("negated class escapes inside [] are not supported");
          class_escape_ranges(e, ranges);
          continue;
        }
        lo = escaped_char(e);
      } else {
        lo = codepoint();
      }
      char32_t hi = lo;
      if (p_ + 1 < s_.size() && s_[p_] == '-' && s_[p_ + 1] != ']') {
        ++p_;
        if (s_[p_] == '\\') {
          if (++p_ >= s_.size()) fail("unfinished escape");
          hi = escaped_char(s_[p_++]);
        } else {
          hi = codepoint();
        }
        if (hi < lo) fail("character range is backwards");
      }
      ranges.emplace_back(lo, hi);
    }
    if (p_ >= s_.size()) fail("unterminated character class");
    ++p_;
    // Inside a JSON string the characters JSON must escape are left out (the raw ones are not
    // valid JSON; the grammar keeps the subset it can write plainly).
    if (json_ && negated) ranges.emplace_back(0, 0x1F), ranges.emplace_back('"', '"'), ranges.emplace_back('\\', '\\');
    std::vector<std::pair<char32_t, char32_t>> kept;
    for (auto [lo, hi] : ranges) {
      if (json_ && !negated) {
        for (const auto& [xl, xh] : {std::pair<char32_t, char32_t>{0, 0x1F}, {'"', '"'}, {'\\', '\\'}}) {
          if (hi < xl || lo > xh) continue;
          if (lo < xl) kept.emplace_back(lo, xl - 1);
          lo = xh + 1;
        }
        if (lo > hi) continue;
      }
      kept.emplace_back(lo, hi);
    }
    if (kept.empty()) return "[^\\x00-\\U0010FFFF]";  // matches nothing
    std::string out = negated ? "[^" : "[";
    for (const auto& [lo, hi] : kept) out += lo == hi ? esc(lo) : esc(lo) + "-" + esc(hi);
    return out + "]";
  }

  int number() {
    long v = 0;
    const size_t start = p_;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      v = v * 10 + (s_[p_++] - '0');
      if (v > 100000) fail("repetition count too large");
    }
    if (p_ == start) fail("expected a number");
    return static_cast<int>(v);
  }

  std::string quantifier() {
    if (p_ >= s_.size()) return "";
    std::string q;
    const char c = s_[p_];
    if (c == '*' || c == '+' || c == '?') {
      ++p_;
      q = std::string(1, c);
    } else if (c == '{') {
      ++p_;
      const int min = number();
      int max = min;
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        max = p_ < s_.size() && s_[p_] == '}' ? -1 : number();
      }
      if (p_ >= s_.size() || s_[p_] != '}') fail("expected '}'");
      ++p_;
      if (max >= 0 && max < min) fail("repetition maximum is below its minimum");
      q = "{";
      q += std::to_string(min);
      if (max != min) q += ",";
      if (max != min && max >= 0) q += std::to_string(max);
      q += "}";
    } else {
      return "";
    }
    if (p_ < s_.size() && s_[p_] == '?') ++p_;  // lazy: the same set of strings
    if (p_ < s_.size() && (s_[p_] == '*' || s_[p_] == '+' || s_[p_] == '{')) fail("nested quantifier");
    return q;
  }

  std::string_view s_;
  size_t p_ = 0;
  bool json_;
};

}  // namespace

std::string regex_to_gbnf(std::string_view regex, bool json_string) { return RegexParser(regex, json_string).parse(); }

}  // namespace slim::grammar
