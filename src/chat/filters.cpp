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

// Jinja2's make_attrgetter: a dotted path ("function.name", "0.name"), each part looked up as
// `x[part]` (digits as an index). An Undefined part in the middle raises.
Value attribute(Evaluator& ev, const Value& item, std::string_view path) {
  Value current = item;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string part(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (current.is_undefined()) ev.fail(current.undefined_message());
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    current = get_item(current, digits ? Value(static_cast<std::int64_t>(std::strtoll(part.c_str(), nullptr, 10))) : Value(part));
    if (dot == std::string_view::npos) return current;
    start = dot + 1;
  }
}

std::vector<Value> as_sequence(Evaluator& ev, const Value& v) {
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
    default: ev.fail(std::string("'") + v.type_name() + "' object is not iterable");  // Python's message
  }
}

// map, select, reject, selectattr and rejectattr yield nothing for a false value (None, "", 0,
// Undefined: Jinja2 tests `if value` before iterating), else iterate it.
std::vector<Value> lazy_input(Evaluator& ev, const Value& v) {
  if (!v.truthy()) return {};
  return as_sequence(ev, v);
}

// transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
// json.dumps with those arguments (positional ones in that order).
Value tojson(Evaluator& ev, const Value& operand, const CallArgs& args) {
  JsonStyle style;
  style.ensure_ascii = bool_arg(args, 0, "ensure_ascii", false);
  if (const Value* indent = args.get(1, "indent"); indent && !indent->is_none()) {
    if (!indent->is_int() || indent->as_int() < 0 || indent->as_int() > 64) ev.fail("tojson: indent must be an integer from 0 to 64");
    style.indent = static_cast<int>(indent->as_int());
  }
  if (const Value* seps = args.get(2, "separators"); seps && !seps->is_none()) {
    const bool pair = seps->is_array() && seps->as_array().size() == 2 && seps->as_array()[0].is_string() &&
                      seps->as_array()[1].is_string();
    if (!pair) ev.fail("tojson: separators must be two strings");
    style.item_separator = seps->as_array()[0].as_string();
    style.key_separator = seps->as_array()[1].as_string();
  }
  style.sort_keys = bool_arg(args, 3, "sort_keys", false);
  std::string out;
  if (const std::string error = dump_json(operand, style, out); !error.empty()) ev.fail(error);
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
  for (const Value& item : lazy_input(ev, operand)) {
    const Value value = attribute(ev, item, path);
    const bool passed = test_name.empty() ? value.truthy() : apply_test(ev, test_name, value, test_args);
    if (passed == select) out.push_back(item);
  }
  return Value::iterator(std::move(out));
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
  for (const Value& item : lazy_input(ev, operand)) {
    const bool passed = test_name.empty() ? item.truthy() : apply_test(ev, test_name, item, test_args);
    if (passed == select) out.push_back(item);
  }
  return Value::iterator(std::move(out));
}

Value map_items(Evaluator& ev, const Value& operand, CallArgs& args) {
  Array out;
  if (const Value* attr = args.kwarg("attribute")) {
    if (!attr->is_string()) ev.fail("map: attribute must be a string");
    const Value* def = args.kwarg("default");
    for (const Value& item : lazy_input(ev, operand)) {
      Value v = attribute(ev, item, attr->as_string());
      out.push_back(v.is_undefined() && def ? *def : std::move(v));
    }
    return Value::iterator(std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) ev.fail("map: expected a filter name or attribute=");
  const std::string filter = args.positional[0].as_string();
  CallArgs filter_args;
  filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
  filter_args.keyword = args.keyword;
  for (const Value& item : lazy_input(ev, operand)) out.push_back(apply_filter(ev, filter, item, filter_args));
  return Value::iterator(std::move(out));
}

Value join(Evaluator& ev, const Value& operand, const CallArgs& args) {
  const std::string sep = string_arg(ev, args, 0, "d", "", "join");
  const Value* attr = args.get(1, "attribute");
  std::string out;
  bool first = true;
  for (const Value& item : as_sequence(ev, operand)) {
    if (!first) out += sep;
    first = false;
    out += to_display_string(attr && attr->is_string() ? attribute(ev, item, attr->as_string()) : item);
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

Array pairs(Evaluator& ev, const Object& d) {
  ev.charge(d.items.size() * sizeof(Value) * 3);
  Array out;
  for (const auto& [k, v] : d.items) out.push_back(Value::tuple({Value(k), v}));
  return out;
}

// A value as dictsort and unique compare it: strings lower-cased unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  return v.is_string() && !case_sensitive ? Value(to_lower(v.as_string())) : v;
}

// dictsort(case_sensitive=False, by='key', reverse=False): the (key, value) pairs, sorted.
Value dictsort(Evaluator& ev, const Value& operand, const CallArgs& args) {
  if (operand.is_undefined()) ev.fail(operand.undefined_message());
  if (!operand.is_object() || operand.as_object().is_namespace) {
    ev.fail(std::string("'") + operand.type_name() + "' object has no attribute 'items'");
  }
  const bool case_sensitive = bool_arg(args, 0, "case_sensitive", false);
  const std::string by = string_arg(ev, args, 1, "by", "key", "dictsort");
  if (by != "key" && by != "value") ev.fail("You can only sort by either 'key' or 'value'");
  const std::size_t pos = by == "key" ? 0 : 1;
  const bool reverse = bool_arg(args, 2, "reverse", false);
  Array out = pairs(ev, operand.as_object());
  std::stable_sort(out.begin(), out.end(), [&](const Value& a, const Value& b) {
    const Value x = sort_key(a.as_array()[pos], case_sensitive);
    const Value y = sort_key(b.as_array()[pos], case_sensitive);
    return reverse ? compare_values(ev, y, x, "<") < 0 : compare_values(ev, x, y, "<") < 0;
  });
  return Value::array(std::move(out));
}

// reverse: a str reversed, a list's or dict's reverse iterator, an iterator as a reversed list.
Value reverse(Evaluator& ev, const Value& operand) {
  if (!(operand.is_undefined() || operand.is_string() || operand.is_array() || operand.is_object()) ||
      (operand.is_object() && operand.as_object().is_namespace)) {
    ev.fail("argument must be iterable");
  }
  std::vector<Value> items = as_sequence(ev, operand);
  std::reverse(items.begin(), items.end());
  if (operand.is_string()) {
    std::string out;
    for (const Value& c : items) out += c.as_string();
    return Value(std::move(out));
  }
  if (operand.is_iterator()) return Value::array(std::move(items));
  return Value::iterator(std::move(items), operand.is_undefined() ? "reversed" : operand.is_array() ? "list_reverseiterator" : "dict_reversekeyiterator");
}

// unique(case_sensitive=False, attribute=None): the first of each equal item, as a generator.
Value unique(Evaluator& ev, const Value& operand, const CallArgs& args) {
  const bool case_sensitive = bool_arg(args, 0, "case_sensitive", false);
  const Value* attr = args.get(1, "attribute");
  Array out;
  Array seen;
  for (const Value& item : as_sequence(ev, operand)) {
    const Value key = sort_key(attr && attr->is_string() ? attribute(ev, item, attr->as_string()) : item, case_sensitive);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& k) { return equals(k, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::iterator(std::move(out));
}

}  // namespace

Value apply_filter(Evaluator& ev, std::string_view name, const Value& operand, CallArgs& args) {
  // These keep a Markup string Markup (they call its own str methods in Jinja2).
  const auto same_kind = [&](std::string s) { return operand.is_markup() ? Value::markup(std::move(s)) : Value(std::move(s)); };
  if (name == "trim") return same_kind(std::string(trim(to_display_string(operand))));
  if (name == "length" || name == "count") {
    switch (operand.type()) {
      case Value::Type::undefined: return Value(std::int64_t{0});
      case Value::Type::string: return Value(static_cast<std::int64_t>(code_point_count(operand.as_string())));
      case Value::Type::array:
        if (operand.is_iterator()) break;
        return Value(static_cast<std::int64_t>(operand.as_array().size()));
      case Value::Type::object: return Value(static_cast<std::int64_t>(operand.as_object().items.size()));
      default: break;
    }
    ev.fail(std::string("object of type '") + operand.type_name() + "' has no len()");
  }
  if (name == "tojson") return tojson(ev, operand, args);
  if (name == "upper") return same_kind(to_upper(to_display_string(operand)));
  if (name == "lower") return same_kind(to_lower(to_display_string(operand)));
  if (name == "title") return same_kind(to_title(to_display_string(operand)));
  if (name == "capitalize") return same_kind(to_capitalized(to_display_string(operand)));
  if (name == "string") return same_kind(to_display_string(operand));
  if (name == "safe") return Value::markup(to_display_string(operand));
  if (name == "items") {  // a generator of (key, value) pairs; nothing for Undefined
    if (operand.is_undefined()) return Value::iterator({});
    if (!operand.is_object() || operand.as_object().is_namespace) ev.fail("Can only get item pairs from a mapping.");
    return Value::iterator(pairs(ev, operand.as_object()));
  }
  if (name == "dictsort") return dictsort(ev, operand, args);
  if (name == "join") return join(ev, operand, args);
  if (name == "default" || name == "d") {
    const Value* fallback = args.get(0, "default_value");
    const bool boolean = bool_arg(args, 1, "boolean", false);
    if (operand.is_undefined() || (boolean && !operand.truthy())) return fallback ? *fallback : Value(std::string());
    return operand;
  }
  if (name == "first") {
    std::vector<Value> items = as_sequence(ev, operand);
    return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
  }
  if (name == "last") {  // next(reversed(x)): iterators and None cannot be reversed
    if (operand.is_iterator() || !(operand.is_undefined() || operand.is_string() || operand.is_array() || operand.is_object())) {
      ev.fail(std::string("'") + operand.type_name() + "' object is not reversible");
    }
    std::vector<Value> items = as_sequence(ev, operand);
    return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
  }
  if (name == "list") return Value::array(as_sequence(ev, operand));
  if (name == "reverse") return reverse(ev, operand);
  if ((name == "int" || name == "float" || name == "indent") && operand.is_undefined()) ev.fail(operand.undefined_message());
  if (name == "int") return to_int(ev, operand, args);
  if (name == "float") return to_float(operand, args);
  if (name == "abs") {
    if (operand.is_int()) {
      if (operand.as_int() == INT64_MIN) ev.fail("integer overflow");
      return Value(operand.as_int() < 0 ? -operand.as_int() : operand.as_int());
    }
    if (operand.is_float()) return Value(std::fabs(operand.as_float()));
    ev.fail(std::string("bad operand type for abs(): '") + operand.type_name() + "'");
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
  if (name == "unique") return unique(ev, operand, args);
  ev.fail("unknown filter '" + std::string(name) + "'");
}

}  // namespace slim::chat
