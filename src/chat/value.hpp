// The values a chat template computes with: Python-like (None, bool, int, float, str, list, dict,
// callable) plus Jinja's Undefined. Lists and dicts are shared by reference, as in Python, so that
// `{% set ns.x = 1 %}` changes the namespace every scope sees.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace slim::chat {

class Value;
class Evaluator;

using Array = std::vector<Value>;

// Lists and dicts nest at most this deep, so that printing, comparing and freeing them (all
// recursive) cannot overflow the stack. Deeper nesting throws ErrorCode::limit_exceeded.
constexpr std::size_t kMaxValueDepth = 512;

// A dict in insertion order (Python dicts keep it; tojson output depends on it).
struct Object {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // only namespace() objects accept `{% set obj.attr = ... %}`
  std::size_t depth = 1;      // an upper bound of the nesting below (and including) this dict

  const Value* find(std::string_view key) const;
  void set(std::string_view key, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  const Value* kwarg(std::string_view name) const;
  // The argument at `index`, else the keyword `name`, else nullptr.
  const Value* get(std::size_t index, std::string_view name) const;
};

struct Function {
  // What Python calls it: a global (raise_exception, range, ...), a template macro, or a bound
  // method of a str or dict (`d.items` without the call).
  enum class Kind { function, macro, method };
  std::string name;
  std::function<Value(Evaluator&, CallArgs&)> call;
  Kind kind = Kind::function;
};

// Jinja2's Undefined. Using one (an attribute, arithmetic, a call, tojson) raises UndefinedError
// with this message: "'x' is undefined", "'dict object' has no attribute 'x'", ...
struct Undefined {
  std::string message;
};

class Value {
 public:
  enum class Type { undefined, none, boolean, integer, floating, string, array, object, function };

  Value() = default;  // undefined
  static Value undefined(std::string message) { return Value(Storage(Undefined{std::move(message)})); }
  static Value none() { return Value(Storage(nullptr)); }
  Value(bool b) : v_(b) {}
  Value(std::int64_t i) : v_(i) {}
  Value(int i) : v_(std::int64_t{i}) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::shared_ptr<Object> o) : v_(std::move(o)) {}
  Value(std::shared_ptr<const Function> f) : v_(std::move(f)) {}
  // Lists are made only here, which records their nesting depth.
  static Value array(Array items = {});
  // A one-way iterator Python-side, such as the generator that map / select return or the
  // list_reverseiterator of reverse: it iterates like a list, but has no len(), no items by index,
  // is always true and is not JSON serializable. `type` is its Python type name. (Unlike Python's,
  // it can be iterated more than once.)
  static Value iterator(Array items, const char* type = "generator");
  // A tuple: a list that prints as (a, b) and adds only to tuples; (key, value) pairs are these.
  static Value tuple(Array items);
  static Value object() { return Value(std::make_shared<Object>()); }
  // A markupsafe Markup string (what the `safe` filter returns): a str that HTML-escapes plain
  // strings added to it, in either order.
  static Value markup(std::string s) { return Value(Storage(MarkupText{std::move(s)})); }

  Type type() const { return is_markup() ? Type::string : static_cast<Type>(v_.index()); }
  bool is_markup() const { return std::holds_alternative<MarkupText>(v_); }
  bool is_undefined() const { return type() == Type::undefined; }
  bool is_none() const { return type() == Type::none; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_int() const { return type() == Type::integer; }
  bool is_float() const { return type() == Type::floating; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return type() == Type::string; }
  bool is_array() const { return type() == Type::array; }
  bool is_object() const { return type() == Type::object; }
  bool is_function() const { return type() == Type::function; }

  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  double as_number() const;  // int, float or bool as a double
  const std::string& as_string() const {
    if (const auto* m = std::get_if<MarkupText>(&v_)) return m->text;
    return std::get<std::string>(v_);
  }
  Array& as_array() const { return std::get<std::shared_ptr<ArrayBox>>(v_)->items; }
  Object& as_object() const { return *std::get<std::shared_ptr<Object>>(v_); }
  const Function& as_function() const { return *std::get<std::shared_ptr<const Function>>(v_); }
  const std::string& undefined_message() const { return std::get<Undefined>(v_).message; }
  // An iterator() rather than a list.
  bool is_iterator() const { return is_array() && std::get<std::shared_ptr<ArrayBox>>(v_)->iterator; }
  bool is_tuple() const { return is_array() && std::get<std::shared_ptr<ArrayBox>>(v_)->tuple; }
  // Nesting depth of a list or dict (0 for other values).
  std::size_t depth() const;

  bool truthy() const;
  // Python's type name, for error messages ("str", "list", "NoneType", ...).
  const char* type_name() const;

 private:
  struct MarkupText {
    std::string text;
  };
  struct ArrayBox {
    Array items;
    std::size_t depth = 1;
    const char* iterator = nullptr;  // the Python type name of an iterator(); null for a list
    bool tuple = false;
  };
  using Storage = std::variant<Undefined, std::nullptr_t, bool, std::int64_t, double, std::string,
                               std::shared_ptr<ArrayBox>, std::shared_ptr<Object>,
                               std::shared_ptr<const Function>, MarkupText>;
  explicit Value(Storage v) : v_(std::move(v)) {}
  Storage v_;
};

// Python's == between values (1 == 1.0 == True; lists and dicts compared by content, iterators
// by identity).
bool equals(const Value& a, const Value& b);

// Jinja2's Undefined for a missing variable, attribute (also a missing dict key) or list element,
// with the message its UndefinedError has.
Value undefined_variable(std::string_view name);
Value missing_attribute(const Value& object, std::string_view name);
Value missing_element(const Value& object, const Value& key);

// markupsafe's escape: & < > ' " as HTML entities.
std::string html_escape(std::string_view s);

// Python's repr(str): 'text' (or "text" when it holds ' and no ").
std::string python_string_repr(const std::string& s);

// str(value) as Jinja prints it: "" for Undefined, "None", "True", Python float repr, and
// Python's repr for lists and dicts.
std::string to_display_string(const Value& value);

// Python's repr(float): shortest round-trip digits, exponent form below 1e-4 or from 1e16.
std::string python_float_repr(double d);

}  // namespace slim::chat
