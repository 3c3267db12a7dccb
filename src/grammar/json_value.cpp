// Any JSON value (RFC 8259), compact: no whitespace between tokens. The rules follow llama.cpp's
// grammars/json.gbnf, with strings that refuse raw control characters as JSON does, escapes that are
// no lone surrogates (\\uD800-\\uDFFF), and numbers
// that stay inside a double's range (at most 16 integer digits, 2 exponent digits) so that every
// parser reads them.
#include "grammar/gbnf.hpp"

namespace slim::grammar {

std::string json_value_gbnf() {
  return R"(value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ( string ":" value ( "," string ":" value )* )? "}"
array ::= "[" ( value ( "," value )* )? "]"
string ::= "\"" char* "\""
char ::= [^"\\\x00-\x1f] | "\\" ( ["\\/bfnrt] | "u" ( [0-9a-cA-CefEF] hex{3} | [dD] [0-7] hex{2} ) )
hex ::= [0-9a-fA-F]
number ::= integer ( "." [0-9]+ )? ( [eE] [-+]? [0-9]{1,2} )?
integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
)";
}

}  // namespace slim::grammar
