#include "chat/lexer.hpp"

#include <algorithm>

#include "chat/text.hpp"
#include "tokenizer/utf8.hpp"
#include "slim/error.hpp"

namespace slim::chat {

namespace {

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(source) {
    // keep_trailing_newline=False: Jinja drops one trailing newline of the template.
    if (!src_.empty() && src_.back() == '\n') src_.remove_suffix(1);
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    std::size_t pos = 0;
    bool strip_next = false;   // the previous tag ended with '-'
    bool after_block = false;  // the previous tag was a block or comment (trim_blocks)
    while (pos < src_.size()) {
      const std::size_t tag = find_tag(pos);
      emit_text(pos, tag == std::string_view::npos ? src_.size() : tag, tag, strip_next, after_block);
      if (tag == std::string_view::npos) break;
      const char opener = src_[tag + 1];
      if (opener == '#') {
        const std::size_t close = src_.find("#}", tag + 2);
        if (close == std::string_view::npos) fail(tag, "unterminated comment");
        strip_next = close > tag + 2 && src_[close - 1] == '-';
        after_block = true;
        pos = close + 2;
        continue;
      }
      const bool block = opener == '%';
      push(block ? TokenKind::block_begin : TokenKind::var_begin, block ? "{%" : "{{", tag);
      pos = tag + 2;
      if (pos < src_.size() && (src_[pos] == '-' || (block && src_[pos] == '+'))) ++pos;
      pos = lex_tag(pos, tag, block, strip_next, after_block);
    }
    push(TokenKind::end, "", src_.size());
    return std::move(tokens_);
  }

 private:
  std::size_t find_tag(std::size_t pos) const {
    while (true) {
      const std::size_t brace = src_.find('{', pos);
      if (brace == std::string_view::npos || brace + 1 >= src_.size()) return std::string_view::npos;
      const char next = src_[brace + 1];
      if (next == '{' || next == '%' || next == '#') return brace;
      pos = brace + 1;
    }
  }

  // Emits src_[begin, end) as text after whitespace control. `tag` is the tag that follows.
  void emit_text(std::size_t begin, std::size_t end, std::size_t tag, bool strip_next, bool after_block) {
    // lstrip_blocks looks at the text after the last newline, measured before anything is removed.
    std::size_t line_tail = std::string_view::npos;
    const std::size_t newline = src_.substr(begin, end - begin).rfind('\n');
    if (newline != std::string_view::npos) {
      line_tail = begin + newline + 1;
    } else if (begin == 0) {
      line_tail = 0;
    }
    if (strip_next) {
      while (begin < end) {
        const std::size_t n = whitespace_at(src_.substr(0, end), begin);
        if (n == 0) break;
        begin += n;
      }
    } else if (after_block && begin < end && src_[begin] == '\n') {
      ++begin;  // trim_blocks: the first newline after a block tag goes
    }
    if (tag != std::string_view::npos) {
      const char marker = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      const bool is_block_or_comment = src_[tag + 1] == '%' || src_[tag + 1] == '#';
      if (marker == '-') {
        while (end > begin) {
          const std::size_t n = whitespace_before(src_.substr(begin), end - begin);
          if (n == 0) break;
          end -= n;
        }
      } else if (is_block_or_comment && marker != '+' && line_tail != std::string_view::npos) {
        // lstrip_blocks: spaces and tabs from the start of the line to a block tag go.
        const std::size_t from = std::max(line_tail, begin);
        bool blank = true;
        for (std::size_t i = from; i < end; ++i) {
          if (src_[i] != ' ' && src_[i] != '\t') blank = false;
        }
        if (blank && from <= end) end = from;
      }
    }
    if (begin < end) push(TokenKind::text, std::string(src_.substr(begin, end - begin)), begin);
  }

  // Lexes the inside of a tag opened at `tag`; returns the position after its closer.
  std::size_t lex_tag(std::size_t pos, std::size_t tag, bool block, bool& strip_next, bool& after_block) {
    int brace_depth = 0;
    const char closer = block ? '%' : '}';
    while (true) {
      while (pos < src_.size() && is_ascii_space(src_[pos])) ++pos;
      if (pos >= src_.size()) fail(tag, block ? "unterminated '{%' tag" : "unterminated '{{' expression");
      const std::string_view rest = src_.substr(pos);
      const bool dash_close = rest.size() >= 3 && (rest[0] == '-' || (block && rest[0] == '+')) &&
                              rest[1] == closer && rest[2] == '}';
      if (dash_close || (rest.size() >= 2 && rest[0] == closer && rest[1] == '}' && (block || brace_depth == 0))) {
        push(block ? TokenKind::block_end : TokenKind::var_end, block ? "%}" : "}}", pos);
        strip_next = dash_close && rest[0] == '-';
        after_block = block && !(dash_close && rest[0] == '+');
        return pos + (dash_close ? 3 : 2);
      }
      const char c = src_[pos];
      if (is_name_start(c)) {
        std::size_t end = pos;
        while (end < src_.size() && is_name_char(src_[end])) ++end;
        push(TokenKind::name, std::string(src_.substr(pos, end - pos)), pos);
        pos = end;
      } else if (is_digit(c)) {
        pos = lex_number(pos);
      } else if (c == '\'' || c == '"') {
        pos = lex_string(pos);
      } else {
        static const char* const two_char[] = {"**", "//", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* candidate : two_char) {
          if (rest.substr(0, 2) == candidate) op = candidate;
        }
        if (op.empty() && std::string_view("+-*/%~<>=()[]{},.:|").find(c) != std::string_view::npos) op = std::string(1, c);
        if (op.empty()) fail(pos, std::string("unexpected character '") + c + "'");
        if (op == "{") ++brace_depth;
        if (op == "}") --brace_depth;
        push(TokenKind::op, op, pos);
        pos += op.size();
      }
    }
  }

  std::size_t lex_number(std::size_t pos) {
    std::size_t end = pos;
    while (end < src_.size() && is_digit(src_[end])) ++end;
    bool is_float = false;
    if (end + 1 < src_.size() && src_[end] == '.' && is_digit(src_[end + 1])) {
      is_float = true;
      ++end;
      while (end < src_.size() && is_digit(src_[end])) ++end;
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      std::size_t e = end + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && is_digit(src_[e])) {
        is_float = true;
        end = e;
        while (end < src_.size() && is_digit(src_[end])) ++end;
      }
    }
    push(is_float ? TokenKind::floating : TokenKind::integer, std::string(src_.substr(pos, end - pos)), pos);
    return end;
  }

  // String literals decode Python's escapes (Jinja decodes them with "unicode-escape").
  std::size_t lex_string(std::size_t pos) {
    const char quote = src_[pos];
    std::string value;
    std::size_t i = pos + 1;
    while (true) {
      if (i >= src_.size()) fail(pos, "unterminated string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) fail(pos, "unterminated string literal");
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '0': value += '\0'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case '\n': break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          const std::size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          unsigned long cp = 0;
          for (std::size_t k = 0; k < digits; ++k) {
            const char h = i + k < src_.size() ? src_[i + k] : '\0';
            const int d = is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
            if (d < 0) fail(i - 2, "truncated \\" + std::string(1, e) + " escape in string literal");
            cp = cp * 16 + static_cast<unsigned long>(d);
          }
          if (cp > 0x10FFFF) fail(i - 2, "invalid code point in string literal escape");
          tok::append_utf8(value, static_cast<char32_t>(cp));
          i += digits;
          break;
        }
        default:  // unknown escapes stay as written, as in Python
          value += '\\';
          value += e;
      }
    }
    push(TokenKind::string, std::move(value), pos);
    return i + 1;
  }

  void push(TokenKind kind, std::string value, std::size_t offset) {
    const auto [line, column] = location(offset);
    tokens_.push_back(Token{kind, std::move(value), line, column});
  }

  std::pair<int, int> location(std::size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const std::size_t line = static_cast<std::size_t>(it - line_starts_.begin());
    return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
  }

  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    const auto [line, column] = location(offset);
    throw Error(ErrorCode::template_error, "chat template syntax error at line " + std::to_string(line) +
                                               ", column " + std::to_string(column) + ": " + message);
  }

  std::string_view src_;
  std::vector<std::size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace slim::chat
