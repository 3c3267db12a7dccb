// Jinja's library as chat templates use it: filters (`x | trim`), tests (`x is defined`), methods
// of str / dict (`s.startswith('a')`, `d.items()`) and the global functions transformers provides
// (raise_exception, namespace, range, strftime_now).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "chat/evaluator.hpp"
#include "chat/value.hpp"

namespace slim::chat {

// Applies filter `name`; unknown filters fail with the evaluator's location.
Value apply_filter(Evaluator& ev, std::string_view name, const Value& operand, CallArgs& args);

// Evaluates `operand is name(args)`.
bool apply_test(Evaluator& ev, std::string_view name, const Value& operand, CallArgs& args);

// Whether call_method knows method `name` of this value (a str or a dict).
bool has_method(const Value& object, std::string_view name);

// Calls method `name` of a str, dict or list; nullopt when the value has no such method.
std::optional<Value> call_method(Evaluator& ev, const Value& object, std::string_view name, CallArgs& args);

// Python's ordering of two values (-1, 0, 1); fails, naming `op`, for types Python cannot order.
int compare_values(Evaluator& ev, const Value& a, const Value& b, const std::string& op);

// Jinja2's `x[key]` and `x.name` (see evaluator.cpp): missing ones are Undefined.
Value get_item(const Value& object, const Value& key);
Value get_attribute(const Value& object, const std::string& name);

// Binds the global functions in `scope`; strftime_now formats `now` (in UTC) when given, else the
// current local time.
void install_globals(Scope& scope, std::optional<std::chrono::system_clock::time_point> now = std::nullopt);

// Python's str.split(sep, maxsplit) (sep unset: runs of whitespace).
Value split_string(std::string_view s, const Value* sep, long long maxsplit);

}  // namespace slim::chat
