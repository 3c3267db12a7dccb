// Parses a template's tokens into a syntax tree, following Jinja2's grammar and operator
// precedence (parser.py): or < and < not < comparisons/in/is < + - < ~ < * / // % < ** < unary,
// with filters and tests binding to their operand.
#pragma once

#include <string_view>

#include "chat/ast.hpp"

namespace slim::chat {

// Throws slim::Error(ErrorCode::template_error) naming the line and column of a syntax error.
Body parse_template(std::string_view source);

}  // namespace slim::chat
