#include "chat/value.hpp"

#include <charconv>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "slim/error.hpp"

namespace slim::chat {

const Value* Object::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {

void check_depth(std::size_t depth) {
  if (depth > kMaxValueDepth) {
    throw Error(ErrorCode::limit_exceeded, "chat template: lists and dicts nested deeper than " +
                                               std::to_string(kMaxValueDepth) + " levels");
  }
}

// Printing and comparing recurse; a namespace that holds itself is cyclic, so they stop here.
void check_recursion(std::size_t level) {
  if (level > kMaxValueDepth + 1) {
    throw Error(ErrorCode::limit_exceeded, "chat template: value nested too deeply (or holding itself)");
  }
}

}  // namespace

void Object::set(std::string_view key, Value value) {
  depth = std::max(depth, value.depth() + 1);
  check_depth(depth);
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::string(key), std::move(value));
}

const Value* CallArgs::kwarg(std::string_view name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return nullptr;
}

const Value* CallArgs::get(std::size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  return kwarg(name);
}

Value Value::array(Array items) {
  auto box = std::make_shared<ArrayBox>();
  for (const Value& item : items) box->depth = std::max(box->depth, item.depth() + 1);
  check_depth(box->depth);
  box->items = std::move(items);
  return Value(Storage(std::move(box)));
}

Value Value::iterator(Array items, const char* type) {
  Value v = array(std::move(items));
  std::get<std::shared_ptr<ArrayBox>>(v.v_)->iterator = type;
  return v;
}

Value Value::tuple(Array items) {
  Value v = array(std::move(items));
  std::get<std::shared_ptr<ArrayBox>>(v.v_)->tuple = true;
  return v;
}

std::size_t Value::depth() const {
  if (is_array()) return std::get<std::shared_ptr<ArrayBox>>(v_)->depth;
  if (is_object()) return as_object().depth;
  return 0;
}

double Value::as_number() const {
  switch (type()) {
    case Type::boolean: return as_bool() ? 1.0 : 0.0;
    case Type::integer: return static_cast<double>(as_int());
    case Type::floating: return as_float();
    default: return 0.0;
  }
}

bool Value::truthy() const {
  switch (type()) {
    case Type::undefined:
    case Type::none: return false;
    case Type::boolean: return as_bool();
    case Type::integer: return as_int() != 0;
    case Type::floating: return as_float() != 0.0;
    case Type::string: return !as_string().empty();
    case Type::array: return is_iterator() || !as_array().empty();  // a Python iterator is always true
    case Type::object: return !as_object().items.empty();
    case Type::function: return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (type()) {
    case Type::undefined: return "Undefined";
    case Type::none: return "NoneType";
    case Type::boolean: return "bool";
    case Type::integer: return "int";
    case Type::floating: return "float";
    case Type::string: return is_markup() ? "Markup" : "str";
    case Type::array: return is_iterator() ? std::get<std::shared_ptr<ArrayBox>>(v_)->iterator : is_tuple() ? "tuple" : "list";
    case Type::object: return as_object().is_namespace ? "Namespace" : "dict";
    case Type::function:
      switch (as_function().kind) {
        case Function::Kind::macro: return "Macro";
        case Function::Kind::method: return "builtin_function_or_method";
        default: return "function";
      }
  }
  return "?";
}

namespace {

bool equals_at(const Value& a, const Value& b, std::size_t level) {
  check_recursion(level);
  using T = Value::Type;
  const bool a_num = a.is_number() || a.is_bool();
  const bool b_num = b.is_number() || b.is_bool();
  if (a_num && b_num) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_number() == b.as_number();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case T::undefined:
    case T::none: return true;
    case T::string: return a.as_string() == b.as_string();
    case T::array: {
      if (a.is_iterator() || b.is_iterator()) return &a.as_array() == &b.as_array();
      if (a.is_tuple() != b.is_tuple()) return false;  // (1, 2) != [1, 2]
      const Array& x = a.as_array();
      const Array& y = b.as_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!equals_at(x[i], y[i], level + 1)) return false;
      }
      return true;
    }
    case T::object: {
      const Object& x = a.as_object();
      const Object& y = b.as_object();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !equals_at(v, *other, level + 1)) return false;
      }
      return true;
    }
    case T::function: return &a.as_function() == &b.as_function();
    default: return false;
  }
}

}  // namespace

bool equals(const Value& a, const Value& b) { return equals_at(a, b, 0); }

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in scientific form, then laid out by Python's repr rules
  // (CPython float_repr_style 'short': exponent form when exp < -4 or exp >= 16).
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const auto e_pos = sci.find('e');
  std::string mantissa = sci.substr(0, e_pos);
  const int exp = std::atoi(sci.c_str() + e_pos + 1);
  std::string sign;
  if (!mantissa.empty() && mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  if (exp < -4 || exp >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) {  // appended piecewise: GCC 12 warns (-Wrestrict) about "." + string here
      out += '.';
      out.append(digits, 1);
    }
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    return out + e;
  }
  std::string out;
  if (exp < 0) {
    out = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  } else if (static_cast<std::size_t>(exp) + 1 >= digits.size()) {
    out = digits + std::string(static_cast<std::size_t>(exp) + 1 - digits.size(), '0') + ".0";
  } else {
    out = digits.substr(0, static_cast<std::size_t>(exp) + 1) + "." +
          digits.substr(static_cast<std::size_t>(exp) + 1);
  }
  return sign + out;
}

// Single quotes unless the text has ' and no ".
std::string python_string_repr(const std::string& s) {
  const bool use_double = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char quote = use_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\x%02x", c);
          out += esc;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += quote;
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&#39;"; break;
      case '"': out += "&#34;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string display_at(const Value& v, std::size_t level);

std::string repr(const Value& v, std::size_t level) {
  if (v.is_undefined()) return "Undefined";
  if (v.is_markup()) return "Markup(" + python_string_repr(v.as_string()) + ")";
  return v.is_string() ? python_string_repr(v.as_string()) : display_at(v, level);
}

std::string display_at(const Value& v, std::size_t level) {
  check_recursion(level);
  using T = Value::Type;
  switch (v.type()) {
    case T::undefined: return "";
    case T::none: return "None";
    case T::boolean: return v.as_bool() ? "True" : "False";
    case T::integer: return std::to_string(v.as_int());
    case T::floating: return python_float_repr(v.as_float());
    case T::string: return v.as_string();
    case T::array: {
      if (v.is_iterator()) return std::string("<") + v.type_name() + " object>";  // Python adds its address
      std::string out = v.is_tuple() ? "(" : "[";
      bool first = true;
      for (const Value& item : v.as_array()) {
        if (!first) out += ", ";
        first = false;
        out += repr(item, level + 1);
      }
      if (v.is_tuple() && v.as_array().size() == 1) out += ",";
      return out + (v.is_tuple() ? ")" : "]");
    }
    case T::object: {
      std::string out = v.as_object().is_namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, item] : v.as_object().items) {
        if (!first) out += ", ";
        first = false;
        out += python_string_repr(k) + ": " + repr(item, level + 1);
      }
      return out + (v.as_object().is_namespace ? "}>" : "}");
    }
    case T::function: return "<function " + v.as_function().name + ">";
  }
  return "";
}

// Jinja2's object_type_repr: "None", "dict object", "jinja2.utils.Namespace object", ...
std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_object() && v.as_object().is_namespace) return "jinja2.utils.Namespace object";
  if (v.is_function() && v.as_function().kind == Function::Kind::macro) return "jinja2.runtime.Macro object";
  return std::string(v.type_name()) + " object";
}

}  // namespace

Value undefined_variable(std::string_view name) {
  std::string message = "'";  // appended piecewise: GCC 12 warns (-Wrestrict) about "'" + string
  message.append(name);
  message.append("' is undefined");
  return Value::undefined(std::move(message));
}

Value missing_attribute(const Value& object, std::string_view name) {
  return Value::undefined(python_string_repr(object_type_repr(object)) + " has no attribute " + python_string_repr(std::string(name)));
}

// Jinja2 quotes the type here only for attributes: "list object has no element 5".
Value missing_element(const Value& object, const Value& key) {
  return Value::undefined(object_type_repr(object) + " has no element " +
                          (key.is_string() ? python_string_repr(key.as_string()) : to_display_string(key)));
}

std::string to_display_string(const Value& v) { return display_at(v, 0); }

}  // namespace slim::chat
