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
  std::string name;
  std::function<Value(Evaluator&, CallArgs&)> call;
};

struct Undefined {
  std::string name;  // what was looked up, for error messages
};

class Value {
 public:
  enum class Type { undefined, none, boolean, integer, floating, string, array, object, function };

  Value() = default;  // undefined
  static Value undefined(std::string name) { return Value(Storage(Undefined{std::move(name)})); }
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
  static Value object() { return Value(std::make_shared<Object>()); }

  Type type() const { return static_cast<Type>(v_.index()); }
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
  const std::string& as_string() const { return std::get<std::string>(v_); }
  Array& as_array() const { return std::get<std::shared_ptr<ArrayBox>>(v_)->items; }
  Object& as_object() const { return *std::get<std::shared_ptr<Object>>(v_); }
  const Function& as_function() const { return *std::get<std::shared_ptr<const Function>>(v_); }
  const std::string& undefined_name() const { return std::get<Undefined>(v_).name; }
  // Nesting depth of a list or dict (0 for other values).
  std::size_t depth() const;

  bool truthy() const;
  // Python's type name, for error messages ("str", "list", "NoneType", ...).
  const char* type_name() const;

 private:
  struct ArrayBox {
    Array items;
    std::size_t depth = 1;
  };
  using Storage = std::variant<Undefined, std::nullptr_t, bool, std::int64_t, double, std::string,
                               std::shared_ptr<ArrayBox>, std::shared_ptr<Object>,
                               std::shared_ptr<const Function>>;
  explicit Value(Storage v) : v_(std::move(v)) {}
  Storage v_;
};

// Python's == between values (1 == 1.0 == True; lists and dicts compared by content).
bool equals(const Value& a, const Value& b);

// str(value) as Jinja prints it: "" for Undefined, "None", "True", Python float repr, and
// Python's repr for lists and dicts.
std::string to_display_string(const Value& value);

// Python's repr(float): shortest round-trip digits, exponent form below 1e-4 or from 1e16.
std::string python_float_repr(double d);

}  // namespace slim::chat
