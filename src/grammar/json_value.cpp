// Any JSON value (RFC 8259), compact: no whitespace between tokens. The rules follow llama.cpp's
// grammars/json.gbnf, with strings that refuse raw control characters as JSON does.
#include "grammar/gbnf.hpp"

namespace slim::grammar {

std::string json_value_gbnf() {
  return R"(value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ( string ":" value ( "," string ":" value )* )? "}"
array ::= "[" ( value ( "," value )* )? "]"
string ::= "\"" char* "\""
char ::= [^"\\\x00-\x1f] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
number ::= integer ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
integer ::= "-"? ( "0" | [1-9] [0-9]* )
)";
}

}  // namespace slim::grammar
