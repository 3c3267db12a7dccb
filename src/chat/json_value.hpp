// Conversions between template values and JSON: messages and tools arrive as JSON text, and the
// `tojson` filter writes JSON the way Python's json.dumps does (transformers' tojson:
// ensure_ascii=False, ", " and ": " separators, or "," and ": " with an indent; keys in order).
#pragma once

#include <string>
#include <string_view>

#include "chat/value.hpp"

namespace slim::chat {

// Parses JSON text into a value (objects keep their key order). Malformed text throws
// slim::Error(ErrorCode::invalid_argument) naming `what`.
Value parse_json_value(std::string_view text, const char* what);

struct JsonStyle {
  int indent = -1;              // < 0: one line
  bool ensure_ascii = false;    // escape non-ASCII as \uXXXX (surrogate pairs above U+FFFF)
  bool sort_keys = false;
  std::string item_separator;   // empty: Python's default for the indent
  std::string key_separator;    // empty: ": "
};

// Appends the JSON text of `value` to `out`. A value JSON cannot hold (Undefined, a function, a
// namespace, an iterator) or nesting deeper than 256 levels returns json.dumps' message instead
// ("Object of type generator is not JSON serializable"), leaving `out` partial; else "".
std::string dump_json(const Value& value, const JsonStyle& style, std::string& out);

}  // namespace slim::chat
