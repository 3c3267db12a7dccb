// Jinja's tests: `x is defined`, `x is not none`, `x is string`, ...
#include "chat/builtins.hpp"
#include "chat/text.hpp"

namespace slim::chat {

namespace {

const Value& argument(Evaluator& ev, const CallArgs& args, std::string_view test) {
  if (args.positional.empty()) ev.fail("test '" + std::string(test) + "' needs an argument");
  return args.positional[0];
}

}  // namespace

bool apply_test(Evaluator& ev, std::string_view name, const Value& v, CallArgs& args) {
  using T = Value::Type;
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number() || v.is_bool();  // Python's bool is a Number
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "mapping") return v.is_object();
  if (name == "iterable") return v.is_string() || v.is_array() || v.is_object() || v.is_undefined();
  // len() and [] (Undefined has both; iterators neither).
  if (name == "sequence") return v.is_string() || (v.is_array() && !v.is_iterator()) || v.is_object() || v.is_undefined();
  if (name == "callable") return v.is_function();
  if (name == "odd" || name == "even") {
    if (!v.is_int()) ev.fail(std::string("test '") + std::string(name) + "' needs an integer, got " + v.type_name());
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    const Value& d = argument(ev, args, name);
    if (!v.is_int() || !d.is_int() || d.as_int() == 0) ev.fail("test 'divisibleby' needs integers and a non-zero divisor");
    return v.as_int() % d.as_int() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equals(v, argument(ev, args, name));
  if (name == "ne" || name == "!=") return !equals(v, argument(ev, args, name));
  if (name == "sameas") {
    const Value& other = argument(ev, args, name);
    if (v.type() != other.type()) return false;
    if (v.type() == T::none || v.type() == T::undefined) return true;
    if (v.is_bool()) return v.as_bool() == other.as_bool();
    if (v.is_array()) return &v.as_array() == &other.as_array();
    if (v.is_object()) return &v.as_object() == &other.as_object();
    return equals(v, other);
  }
  if (name == "in") {
    const Value& container = argument(ev, args, name);
    if (container.is_string()) return v.is_string() && container.as_string().find(v.as_string()) != std::string::npos;
    if (container.is_array()) {
      for (const Value& item : container.as_array()) {
        if (equals(item, v)) return true;
      }
      return false;
    }
    if (container.is_object()) return v.is_string() && container.as_object().find(v.as_string()) != nullptr;
    return false;
  }
  if (name == "lower") return v.is_string() && to_lower(v.as_string()) == v.as_string();
  if (name == "upper") return v.is_string() && to_upper(v.as_string()) == v.as_string();
  ev.fail("unknown test '" + std::string(name) + "'");
}

}  // namespace slim::chat
