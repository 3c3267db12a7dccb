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

// Returns false (leaving `out` partial) when the value holds a function, which JSON cannot hold.
bool dump_json(const Value& value, const JsonStyle& style, std::string& out);

}  // namespace slim::chat
