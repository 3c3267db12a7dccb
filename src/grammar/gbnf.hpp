// GBNF text to rules; `source` is kept as Grammar::gbnf().
#pragma once

#include <string>
#include <string_view>

#include "grammar/rules.hpp"

namespace slim::grammar {

Grammar::Rules parse_gbnf(std::string_view text, std::string source);

// What a regex compiles to, as one GBNF expression (for from_regex and a schema's "pattern").
// Throws slim::Error(invalid_format) with the regex's column.
// json_string: the text goes inside a JSON string (characters JSON escapes are written escaped).
std::string regex_to_gbnf(std::string_view regex, bool json_string = false);

// The GBNF of a JSON Schema (src/grammar/json_schema.cpp).
std::string json_schema_to_gbnf(std::string_view schema_json, bool pretty);

// A GBNF string literal of `bytes` (quotes, backslashes and control bytes as \xHH).
std::string gbnf_literal(std::string_view bytes);

// GBNF rules for any JSON value, rooted at `value` (shared by any_json and the schema compiler).
std::string json_value_gbnf();

}  // namespace slim::grammar
