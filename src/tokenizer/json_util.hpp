// Reading tokenizer.json / tokenizer_config.json fields with errors that name the component.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "slim/error.hpp"
#include "tokenizer/regex.hpp"

namespace slim::tok {

using json = nlohmann::json;

[[noreturn]] inline void bad_field(std::string_view what, std::string_view field,
                                   std::string_view problem) {
  throw Error(ErrorCode::invalid_format, "tokenizer.json: " + std::string(what) + " field '" +
                                             std::string(field) + "' " + std::string(problem));
}

// The member, or nullptr when absent or null.
inline const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

inline std::string string_field(const json& j, const char* key, std::string_view what,
                                const char* fallback = nullptr) {
  const json* m = member(j, key);
  if (!m) {
    if (fallback) return fallback;
    bad_field(what, key, "is missing");
  }
  if (!m->is_string()) bad_field(what, key, "must be a string");
  return m->get<std::string>();
}

inline bool bool_field(const json& j, const char* key, std::string_view what, bool fallback) {
  const json* m = member(j, key);
  if (!m) return fallback;
  if (!m->is_boolean()) bad_field(what, key, "must be true or false");
  return m->get<bool>();
}

inline int64_t int_field(const json& j, const char* key, std::string_view what, int64_t fallback) {
  const json* m = member(j, key);
  if (!m) return fallback;
  if (!m->is_number_integer()) bad_field(what, key, "must be an integer");
  return m->get<int64_t>();
}

inline std::string component_type(const json& j, std::string_view what) {
  if (!j.is_object()) throw Error(ErrorCode::invalid_format, "tokenizer.json: " +
                                                                 std::string(what) +
                                                                 " must be an object");
  return string_field(j, "type", what);
}

[[noreturn]] inline void unsupported_component(std::string_view what, std::string_view type) {
  throw Error(ErrorCode::unsupported, "tokenizer.json: unsupported " + std::string(what) +
                                          " type '" + std::string(type) + "'");
}

// A {"String": "..."} or {"Regex": "..."} pattern as a compiled regex.
inline Regex pattern_field(const json& j, std::string_view what) {
  const json* p = member(j, "pattern");
  if (!p || !p->is_object()) bad_field(what, "pattern", "must be {\"String\": ...} or {\"Regex\": ...}");
  if (const json* s = member(*p, "String"); s && s->is_string()) {
    return Regex::literal(s->get<std::string>(), what);
  }
  if (const json* r = member(*p, "Regex"); r && r->is_string()) {
    return Regex(r->get<std::string>(), what);
  }
  bad_field(what, "pattern", "must be {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace slim::tok
