// Splits a Jinja template into tokens: raw text between tags, tag delimiters, and the expression
// tokens inside tags. Whitespace control is applied here, with the settings transformers renders
// chat templates with: trim_blocks and lstrip_blocks on, keep_trailing_newline off, plus the
// `-` markers ({%- -%} {{- -}} {#- -#}).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace slim::chat {

enum class TokenKind {
  text,         // raw template text
  block_begin,  // {%
  block_end,    // %}
  var_begin,    // {{
  var_end,      // }}
  name,
  string,       // value: the decoded literal
  integer,
  floating,
  op,           // operators and punctuation: + - * / // % ** ~ == != < > <= >= = ( ) [ ] { } , . : |
  end,
};

struct Token {
  TokenKind kind;
  std::string value;
  int line = 1;
  int column = 1;
};

// Throws slim::Error(ErrorCode::template_error) naming the line and column of a lexical error.
std::vector<Token> tokenize(std::string_view source);

}  // namespace slim::chat
