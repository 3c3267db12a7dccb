#include "grammar/gbnf.hpp"
#include "slim/grammar.hpp"

namespace slim {

Grammar Grammar::from_gbnf(std::string_view text) {
  return Grammar(std::make_shared<const Rules>(grammar::parse_gbnf(text, std::string(text))));
}

Grammar Grammar::from_regex(std::string_view regex) {
  const std::string gbnf = "root ::= " + grammar::regex_to_gbnf(regex) + "\n";
  return Grammar(std::make_shared<const Rules>(grammar::parse_gbnf(gbnf, gbnf)));
}

Grammar Grammar::any_json() {
  const std::string gbnf = "root ::= value\n" + grammar::json_value_gbnf();
  return Grammar(std::make_shared<const Rules>(grammar::parse_gbnf(gbnf, gbnf)));
}

Grammar Grammar::from_json_schema(std::string_view schema_json, const JsonSchemaOptions& options) {
  const std::string gbnf = grammar::json_schema_to_gbnf(schema_json, options.pretty);
  return Grammar(std::make_shared<const Rules>(grammar::parse_gbnf(gbnf, gbnf)));
}

const std::string& Grammar::gbnf() const { return rules_->gbnf; }

}  // namespace slim
