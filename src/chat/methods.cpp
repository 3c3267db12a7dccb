// Python methods of str and dict that chat templates call: s.startswith(...), s.split(...),
// d.get(...), d.items(), ...
#include <algorithm>
#include <iterator>

#include "chat/builtins.hpp"
#include "chat/text.hpp"

namespace slim::chat {

namespace {

const std::string& string_param(Evaluator& ev, const CallArgs& args, std::size_t index, std::string_view method) {
  if (index >= args.positional.size() || !args.positional[index].is_string()) {
    ev.fail(std::string(method) + "() expects a string argument");
  }
  return args.positional[index].as_string();
}

// startswith / endswith take a string or a tuple of strings.
bool affix_matches(Evaluator& ev, const std::string& s, const CallArgs& args, bool prefix) {
  const char* method = prefix ? "startswith" : "endswith";
  if (args.positional.empty()) ev.fail(std::string(method) + "() takes at least 1 argument");
  const auto matches = [&](const Value& v) {
    if (!v.is_string()) ev.fail(std::string(method) + "() arguments must be strings");
    const std::string& a = v.as_string();
    return prefix ? s.starts_with(a) : s.ends_with(a);
  };
  const Value& arg = args.positional[0];
  if (arg.is_array()) {
    for (const Value& v : arg.as_array()) {
      if (matches(v)) return true;
    }
    return false;
  }
  return matches(arg);
}

std::optional<Value> string_method(Evaluator& ev, const std::string& s, std::string_view name, CallArgs& args) {
  // strip/lstrip/rstrip remove whitespace whatever argument they get: that is what
  // @huggingface/jinja, the reference renderer of our fixtures, does (Qwen3's
  // `content.lstrip('\n')` relies on it there). See docs/chat_templates.md.
  if (name == "strip") return Value(std::string(trim(s)));
  if (name == "lstrip") return Value(std::string(trim_left(s)));
  if (name == "rstrip") return Value(std::string(trim_right(s)));
  if (name == "startswith") return Value(affix_matches(ev, s, args, true));
  if (name == "endswith") return Value(affix_matches(ev, s, args, false));
  if (name == "upper") return Value(to_upper(s));
  if (name == "lower") return Value(to_lower(s));
  if (name == "title") return Value(to_title(s));
  if (name == "capitalize") return Value(to_capitalized(s));
  if (name == "split") {
    const Value* sep = args.get(0, "sep");
    const Value* maxsplit = args.get(1, "maxsplit");
    return split_string(s, sep, maxsplit && maxsplit->is_int() ? maxsplit->as_int() : -1);
  }
  if (name == "replace") {
    const std::string& from = string_param(ev, args, 0, name);
    const std::string& to = string_param(ev, args, 1, name);
    const Value* count = args.get(2, "count");
    std::string out = replace_all(s, from, to, count && count->is_int() ? count->as_int() : -1);
    ev.check_size(out.size());
    return Value(std::move(out));
  }
  if (name == "find") {
    const std::size_t pos = s.find(string_param(ev, args, 0, name));
    return Value(pos == std::string::npos ? std::int64_t{-1} : static_cast<std::int64_t>(code_point_count(s.substr(0, pos))));
  }
  if (name == "count") {
    const std::string& needle = string_param(ev, args, 0, name);
    if (needle.empty()) return Value(static_cast<std::int64_t>(code_point_count(s) + 1));
    std::int64_t n = 0;
    for (std::size_t pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + needle.size())) ++n;
    return Value(n);
  }
  if (name == "join") {
    if (args.positional.empty()) ev.fail("join() takes exactly one argument");
    const Value& items = args.positional[0];
    if (!items.is_array()) ev.fail("join() expects a list");
    std::string out;
    bool first = true;
    for (const Value& item : items.as_array()) {
      if (!item.is_string()) ev.fail(std::string("join(): expected str instance, ") + item.type_name() + " found");
      if (!first) out += s;
      first = false;
      out += item.as_string();
      ev.check_size(out.size());
    }
    return Value(std::move(out));
  }
  return std::nullopt;
}

std::optional<Value> dict_method(Evaluator& ev, const Object& d, std::string_view name, CallArgs& args) {
  if (name == "get") {
    if (args.positional.empty()) ev.fail("get() takes at least 1 argument");
    const Value& key = args.positional[0];
    if (key.is_string()) {
      if (const Value* v = d.find(key.as_string())) return *v;
    }
    return args.positional.size() > 1 ? args.positional[1] : Value::none();
  }
  if (name == "keys" || name == "values" || name == "items") {
    Array out;
    for (const auto& [k, v] : d.items) {
      if (name == "keys") out.emplace_back(k);
      else if (name == "values") out.push_back(v);
      else out.push_back(Value::tuple({Value(k), v}));
    }
    return Value::array(std::move(out));
  }
  return std::nullopt;
}

}  // namespace

Value split_string(std::string_view s, const Value* sep, long long maxsplit) {
  Array out;
  if (!sep || sep->is_none() || sep->is_undefined() || !sep->is_string()) {
    // Runs of whitespace separate; leading and trailing whitespace yields no empty pieces.
    std::string_view rest = trim_left(s);
    while (!rest.empty()) {
      if (maxsplit >= 0 && static_cast<long long>(out.size()) >= maxsplit) {
        out.emplace_back(std::string(rest));
        break;
      }
      std::size_t end = 0;
      while (end < rest.size() && whitespace_at(rest, end) == 0) ++end;
      out.emplace_back(std::string(rest.substr(0, end)));
      rest = trim_left(rest.substr(end));
    }
    return Value::array(std::move(out));
  }
  const std::string& separator = sep->as_string();
  if (separator.empty()) {
    out.emplace_back(std::string(s));  // Python raises "empty separator"; keep the text whole
    return Value::array(std::move(out));
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t hit = s.find(separator, start);
    if (hit == std::string_view::npos || (maxsplit >= 0 && static_cast<long long>(out.size()) >= maxsplit)) {
      out.emplace_back(std::string(s.substr(start)));
      break;
    }
    out.emplace_back(std::string(s.substr(start, hit - start)));
    start = hit + separator.size();
  }
  return Value::array(std::move(out));
}

bool has_method(const Value& object, std::string_view name) {
  static constexpr std::string_view kStr[] = {"strip", "lstrip", "rstrip", "startswith", "endswith", "upper", "lower",
                                              "title", "capitalize", "split", "replace", "find", "count", "join"};
  static constexpr std::string_view kDict[] = {"get", "keys", "values", "items"};
  if (object.is_string()) return std::find(std::begin(kStr), std::end(kStr), name) != std::end(kStr);
  if (object.is_object() && !object.as_object().is_namespace) return std::find(std::begin(kDict), std::end(kDict), name) != std::end(kDict);
  return false;
}

std::optional<Value> call_method(Evaluator& ev, const Value& object, std::string_view name, CallArgs& args) {
  if (object.is_string()) {
    std::optional<Value> result = string_method(ev, object.as_string(), name, args);
    // Markup's own strip / case methods return Markup.
    const bool keeps_markup = name == "strip" || name == "lstrip" || name == "rstrip" || name == "upper" || name == "lower" ||
                              name == "title" || name == "capitalize";
    if (object.is_markup() && keeps_markup && result) return Value::markup(result->as_string());
    return result;
  }
  if (object.is_object() && !object.as_object().is_namespace) return dict_method(ev, object.as_object(), name, args);
  return std::nullopt;
}

}  // namespace slim::chat
