// Jinja's built-in filters that chat templates use, with transformers' own tojson.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "chat/builtins.hpp"
#include "chat/json_value.hpp"
#include "chat/text.hpp"

namespace slim::chat {

namespace {

std::string string_arg(Evaluator& ev, const CallArgs& args, std::size_t index, std::string_view name,
                       std::string fallback, std::string_view filter) {
  const Value* v = args.get(index, name);
  if (!v || v->is_undefined()) return fallback;
  if (!v->is_string()) ev.fail(std::string(filter) + ": argument '" + std::string(name) + "' must be a string");
  return v->as_string();
}

bool bool_arg(const CallArgs& args, std::size_t index, std::string_view name, bool fallback) {
  const Value* v = args.get(index, name);
  return v && !v->is_undefined() ? v->truthy() : fallback;
}

// Looks up a dotted attribute path ("function.name") as Jinja's make_attrgetter does.
Value attribute(const Value& item, std::string_view path) {
  Value current = item;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string_view part = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (current.is_object()) {
      const Value* v = current.as_object().find(part);
      current = v ? *v : Value::undefined(std::string(part));
    } else if (current.is_array() && !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      const auto i = static_cast<std::size_t>(std::strtoull(std::string(part).c_str(), nullptr, 10));
      current = i < current.as_array().size() ? current.as_array()[i] : Value::undefined(std::string(part));
    } else {
      current = Value::undefined(std::string(part));
    }
    if (dot == std::string_view::npos) return current;
    start = dot + 1;
  }
}

std::vector<Value> as_sequence(Evaluator& ev, const Value& v, std::string_view filter) {
  if (v.is_array()) ev.charge(v.as_array().size() * sizeof(Value));
  if (v.is_string()) ev.charge(v.as_string().size() * sizeof(Value));
  if (v.is_object()) ev.charge(v.as_object().items.size() * sizeof(Value));
  switch (v.type()) {
    case Value::Type::undefined: return {};
    case Value::Type::array: return v.as_array();
    case Value::Type::string: {
      std::vector<Value> out;
      for (auto& c : split_code_points(v.as_string())) out.emplace_back(std::move(c));
      return out;
    }
    case Value::Type::object: {
      std::vector<Value> out;
      for (const auto& item : v.as_object().items) out.emplace_back(item.first);
      return out;
    }
    default: ev.fail(std::string(filter) + ": '" + v.type_name() + "' object is not iterable");
  }
}

Value tojson(Evaluator& ev, const Value& operand, const CallArgs& args) {
  JsonStyle style;
  if (const Value* indent = args.get(0, "indent"); indent && !indent->is_none() && !indent->is_undefined()) {
    if (!indent->is_int() || indent->as_int() < 0 || indent->as_int() > 64) ev.fail("tojson: indent must be an integer from 0 to 64");
    style.indent = static_cast<int>(indent->as_int());
  }
  style.ensure_ascii = bool_arg(args, 1000, "ensure_ascii", false);
  style.sort_keys = bool_arg(args, 1000, "sort_keys", false);
  if (const Value* seps = args.kwarg("separators"); seps && seps->is_array()) {
    const Array& pair = seps->as_array();
    if (pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) ev.fail("tojson: separators must be two strings");
    style.item_separator = pair[0].as_string();
    style.key_separator = pair[1].as_string();
  }
  std::string out;
  if (!dump_json(operand, style, out)) ev.fail("tojson: value is not JSON serializable (or nested too deeply)");
  ev.check_size(out.size());
  return Value(std::move(out));
}

Value to_int(Evaluator& ev, const Value& operand, const CallArgs& args) {
  const Value* fallback = args.get(0, "default");
  const Value def = fallback ? *fallback : Value(std::int64_t{0});
  if (operand.is_int()) return operand;
  if (operand.is_bool()) return Value(std::int64_t{operand.as_bool() ? 1 : 0});
  if (operand.is_float()) {
    if (!std::isfinite(operand.as_float()) || std::fabs(operand.as_float()) >= 9.2e18) return def;
    return Value(static_cast<std::int64_t>(operand.as_float()));
  }
  if (!operand.is_string()) return def;
  const std::string text(trim(operand.as_string()));
  if (text.empty()) return def;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end == '\0' && errno == 0) return Value(static_cast<std::int64_t>(v));
  // Jinja falls back to int(float(text)).
  const double d = std::strtod(text.c_str(), &end);
  if (*end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(static_cast<std::int64_t>(d));
  (void)ev;
  return def;
}

Value to_float(const Value& operand, const CallArgs& args) {
  const Value* fallback = args.get(0, "default");
  const Value def = fallback ? *fallback : Value(0.0);
  if (operand.is_number() || operand.is_bool()) return Value(operand.as_number());
  if (!operand.is_string()) return def;
  const std::string text(trim(operand.as_string()));
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  return !text.empty() && *end == '\0' ? Value(d) : def;
}

Value select_by_attr(Evaluator& ev, const Value& operand, CallArgs& args, bool select, std::string_view filter) {
  if (args.positional.empty() || !args.positional[0].is_string()) ev.fail(std::string(filter) + ": expected an attribute name");
  const std::string path = args.positional[0].as_string();
  CallArgs test_args;
  std::string test_name;
  if (args.positional.size() > 1) {
    if (!args.positional[1].is_string()) ev.fail(std::string(filter) + ": the test name must be a string");
    test_name = args.positional[1].as_string();
    test_args.positional.assign(args.positional.begin() + 2, args.positional.end());
  }
  Array out;
  for (const Value& item : as_sequence(ev, operand, filter)) {
    const Value value = attribute(item, path);
    const bool passed = test_name.empty() ? value.truthy() : apply_test(ev, test_name, value, test_args);
    if (passed == select) out.push_back(item);
  }
  return Value::array(std::move(out));
}

Value select_by_test(Evaluator& ev, const Value& operand, CallArgs& args, bool select, std::string_view filter) {
  std::string test_name;
  CallArgs test_args;
  if (!args.positional.empty()) {
    if (!args.positional[0].is_string()) ev.fail(std::string(filter) + ": the test name must be a string");
    test_name = args.positional[0].as_string();
    test_args.positional.assign(args.positional.begin() + 1, args.positional.end());
  }
  Array out;
  for (const Value& item : as_sequence(ev, operand, filter)) {
    const bool passed = test_name.empty() ? item.truthy() : apply_test(ev, test_name, item, test_args);
    if (passed == select) out.push_back(item);
  }
  return Value::array(std::move(out));
}

Value map_items(Evaluator& ev, const Value& operand, CallArgs& args) {
  Array out;
  if (const Value* attr = args.kwarg("attribute")) {
    if (!attr->is_string()) ev.fail("map: attribute must be a string");
    const Value* def = args.kwarg("default");
    for (const Value& item : as_sequence(ev, operand, "map")) {
      Value v = attribute(item, attr->as_string());
      out.push_back(v.is_undefined() && def ? *def : std::move(v));
    }
    return Value::array(std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) ev.fail("map: expected a filter name or attribute=");
  const std::string filter = args.positional[0].as_string();
  CallArgs filter_args;
  filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
  filter_args.keyword = args.keyword;
  for (const Value& item : as_sequence(ev, operand, "map")) out.push_back(apply_filter(ev, filter, item, filter_args));
  return Value::array(std::move(out));
}

Value join(Evaluator& ev, const Value& operand, const CallArgs& args) {
  const std::string sep = string_arg(ev, args, 0, "d", "", "join");
  const Value* attr = args.get(1, "attribute");
  std::string out;
  bool first = true;
  for (const Value& item : as_sequence(ev, operand, "join")) {
    if (!first) out += sep;
    first = false;
    out += to_display_string(attr && attr->is_string() ? attribute(item, attr->as_string()) : item);
    ev.check_size(out.size());
  }
  return Value(std::move(out));
}

Value indent(Evaluator& ev, const Value& operand, const CallArgs& args) {
  std::string pad(4, ' ');
  if (const Value* width = args.get(0, "width")) {
    if (width->is_string()) pad = width->as_string();
    else if (width->is_int() && width->as_int() >= 0 && width->as_int() <= 256) pad.assign(static_cast<std::size_t>(width->as_int()), ' ');
    else ev.fail("indent: width must be a string or an integer from 0 to 256");
  }
  const bool first = bool_arg(args, 1, "first", false);
  const bool blank = bool_arg(args, 2, "blank", false);
  const std::string text = to_display_string(operand);
  std::string out;
  std::size_t start = 0;
  bool first_line = true;
  while (true) {
    const std::size_t nl = text.find('\n', start);
    const std::string_view line = std::string_view(text).substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if ((!first_line || first) && (blank || !line.empty())) out += pad;
    out += line;
    ev.check_size(out.size());
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
    first_line = false;
  }
  return Value(std::move(out));
}

}  // namespace

Value apply_filter(Evaluator& ev, std::string_view name, const Value& operand, CallArgs& args) {
  if (name == "trim") {
    if (operand.is_undefined()) return Value(std::string());
    return Value(std::string(trim(to_display_string(operand))));
  }
  if (name == "length" || name == "count") {
    switch (operand.type()) {
      case Value::Type::undefined: return Value(std::int64_t{0});
      case Value::Type::string: return Value(static_cast<std::int64_t>(code_point_count(operand.as_string())));
      case Value::Type::array: return Value(static_cast<std::int64_t>(operand.as_array().size()));
      case Value::Type::object: return Value(static_cast<std::int64_t>(operand.as_object().items.size()));
      default: ev.fail(std::string("length: object of type '") + operand.type_name() + "' has no len()");
    }
  }
  if (name == "tojson") return tojson(ev, operand, args);
  if (name == "upper") return Value(to_upper(to_display_string(operand)));
  if (name == "lower") return Value(to_lower(to_display_string(operand)));
  if (name == "title") return Value(to_title(to_display_string(operand)));
  if (name == "capitalize") return Value(to_capitalized(to_display_string(operand)));
  if (name == "string") return Value(to_display_string(operand));
  if (name == "safe") return operand;
  if (name == "items" || name == "dictsort") {
    if (operand.is_undefined()) return Value::array();
    if (!operand.is_object()) ev.fail(std::string(name) + ": expected a dict, got " + operand.type_name());
    Array out;
    ev.charge(operand.as_object().items.size() * sizeof(Value) * 3);
    for (const auto& [k, v] : operand.as_object().items) out.push_back(Value::array({Value(k), v}));
    if (name == "dictsort") {
      std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
        return a.as_array()[0].as_string() < b.as_array()[0].as_string();
      });
    }
    return Value::array(std::move(out));
  }
  if (name == "join") return join(ev, operand, args);
  if (name == "default" || name == "d") {
    const Value* fallback = args.get(0, "default_value");
    const bool boolean = bool_arg(args, 1, "boolean", false);
    if (operand.is_undefined() || (boolean && !operand.truthy())) return fallback ? *fallback : Value(std::string());
    return operand;
  }
  if (name == "first" || name == "last") {
    std::vector<Value> items = as_sequence(ev, operand, name);
    if (items.empty()) return Value::undefined(std::string(name));
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::array(as_sequence(ev, operand, name));
  if (name == "reverse") {
    std::vector<Value> items = as_sequence(ev, operand, name);
    std::reverse(items.begin(), items.end());
    if (!operand.is_string()) return Value::array(std::move(items));
    std::string out;
    for (const Value& c : items) out += c.as_string();
    return Value(std::move(out));
  }
  if (name == "int") return to_int(ev, operand, args);
  if (name == "float") return to_float(operand, args);
  if (name == "abs") {
    if (operand.is_int()) {
      if (operand.as_int() == INT64_MIN) ev.fail("integer overflow");
      return Value(operand.as_int() < 0 ? -operand.as_int() : operand.as_int());
    }
    if (operand.is_float()) return Value(std::fabs(operand.as_float()));
    ev.fail(std::string("abs: bad operand type '") + operand.type_name() + "'");
  }
  if (name == "replace") {
    const std::string from = string_arg(ev, args, 0, "old", "", "replace");
    const std::string to = string_arg(ev, args, 1, "new", "", "replace");
    const Value* count = args.get(2, "count");
    std::string out = replace_all(to_display_string(operand), from, to, count && count->is_int() ? count->as_int() : -1);
    ev.check_size(out.size());
    return Value(std::move(out));
  }
  if (name == "selectattr") return select_by_attr(ev, operand, args, true, name);
  if (name == "rejectattr") return select_by_attr(ev, operand, args, false, name);
  if (name == "select") return select_by_test(ev, operand, args, true, name);
  if (name == "reject") return select_by_test(ev, operand, args, false, name);
  if (name == "map") return map_items(ev, operand, args);
  if (name == "indent") return indent(ev, operand, args);
  if (name == "unique") {
    Array out;
    for (const Value& item : as_sequence(ev, operand, name)) {
      if (std::none_of(out.begin(), out.end(), [&](const Value& seen) { return equals(seen, item); })) out.push_back(item);
    }
    return Value::array(std::move(out));
  }
  ev.fail("unknown filter '" + std::string(name) + "'");
}

}  // namespace slim::chat
