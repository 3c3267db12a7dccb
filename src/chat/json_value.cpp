#include "chat/json_value.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "slim/error.hpp"

namespace slim::chat {

namespace {

// Deeper JSON than this is refused: conversion and dumping recurse once per level.
constexpr int kMaxJsonDepth = 256;

Value from_json(const nlohmann::ordered_json& j, int depth, const char* what) {
  if (depth > kMaxJsonDepth) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth));
  }
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(INT64_MAX)) return Value(static_cast<std::int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Array items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(from_json(item, depth + 1, what));
      return Value::array(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto object = Value::object();
      for (const auto& [key, item] : j.items()) object.as_object().set(key, from_json(item, depth + 1, what));
      return object;
    }
    default: return Value::none();
  }
}

void append_utf8_escaped(std::string& out, unsigned cp) {
  char buf[16];
  if (cp >= 0x10000) {
    cp -= 0x10000;
    std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
  } else {
    std::snprintf(buf, sizeof buf, "\\u%04x", cp);
  }
  out += buf;
}

// json.dumps string escaping: ", \, \n \r \t \b \f, other controls as \u00XX; with ensure_ascii
// every non-ASCII code point as \uXXXX. Bytes that are not UTF-8 pass through unchanged.
void dump_string(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20) {
      append_utf8_escaped(out, c);
    } else if (c >= 0x80 && ensure_ascii) {
      const std::size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
      bool valid = n != 0 && i + n <= s.size();
      for (std::size_t k = 1; valid && k < n; ++k) valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      if (!valid) {
        out += static_cast<char>(c);
        continue;
      }
      unsigned cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
      for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      append_utf8_escaped(out, cp);
      i += n - 1;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// Returns json.dumps' error message, or "" once `v` is written.
std::string dump(const Value& v, const JsonStyle& style, int depth, std::string& out) {
  if (depth > kMaxJsonDepth) return "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
  const bool plain_dict = v.is_object() && !v.as_object().is_namespace;
  if (v.is_undefined() || v.is_function() || v.is_iterator() || (v.is_object() && !plain_dict)) {
    return std::string("Object of type ") + v.type_name() + " is not JSON serializable";
  }
  switch (v.type()) {
    case Value::Type::none: out += "null"; return "";
    case Value::Type::boolean: out += v.as_bool() ? "true" : "false"; return "";
    case Value::Type::integer: out += std::to_string(v.as_int()); return "";
    case Value::Type::floating: {
      const std::string repr = python_float_repr(v.as_float());
      out += repr == "nan" ? "NaN" : repr == "inf" ? "Infinity" : repr == "-inf" ? "-Infinity" : repr;
      return "";
    }
    case Value::Type::string: dump_string(v.as_string(), style.ensure_ascii, out); return "";
    default: break;
  }
  const bool indented = style.indent >= 0;
  const std::string item_sep = !style.item_separator.empty() ? style.item_separator : indented ? "," : ", ";
  const std::string key_sep = !style.key_separator.empty() ? style.key_separator : ": ";
  std::string inner;
  std::string outer;
  if (indented) {
    outer.push_back('\n');
    outer.append(static_cast<std::size_t>(style.indent) * static_cast<std::size_t>(depth), ' ');
    inner = outer;
    inner.append(static_cast<std::size_t>(style.indent), ' ');
  }
  if (v.is_array()) {
    const Array& items = v.as_array();
    if (items.empty()) {
      out += "[]";
      return "";
    }
    out += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += item_sep;
      out += inner;
      if (std::string error = dump(items[i], style, depth + 1, out); !error.empty()) return error;
    }
    out += outer + "]";
    return "";
  }
  std::vector<const std::pair<std::string, Value>*> entries;
  for (const auto& entry : v.as_object().items) entries.push_back(&entry);
  if (entries.empty()) {
    out += "{}";
    return "";
  }
  if (style.sort_keys) {
    std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
  }
  out += '{';
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i) out += item_sep;
    out += inner;
    dump_string(entries[i]->first, style.ensure_ascii, out);
    out += key_sep;
    if (std::string error = dump(entries[i]->second, style, depth + 1, out); !error.empty()) return error;
  }
  out += outer + "}";
  return "";
}

}  // namespace

Value parse_json_value(std::string_view text, const char* what) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + " is not valid JSON: " + e.what());
  }
  return from_json(j, 0, what);
}

std::string dump_json(const Value& value, const JsonStyle& style, std::string& out) { return dump(value, style, 0, out); }

}  // namespace slim::chat
