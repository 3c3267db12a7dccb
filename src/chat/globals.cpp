// The global functions a chat template can call: Jinja's namespace, range and dict, and
// transformers' raise_exception and strftime_now.
#include <chrono>
#include <ctime>
#include <optional>

#include "chat/builtins.hpp"
#include "slim/error.hpp"

namespace slim::chat {

namespace {

void bind(Scope& scope, const char* name, std::function<Value(Evaluator&, CallArgs&)> fn) {
  auto f = std::make_shared<Function>();
  f->name = name;
  f->call = std::move(fn);
  scope.set(name, Value(std::shared_ptr<const Function>(std::move(f))));
}

Value make_namespace(Evaluator& ev, CallArgs& args) {
  auto ns = Value::object();
  ns.as_object().is_namespace = true;
  for (const Value& v : args.positional) {
    if (!v.is_object()) ev.fail("namespace() takes keyword arguments or a dict");
    for (const auto& [k, item] : v.as_object().items) ns.as_object().set(k, item);
  }
  for (const auto& [k, v] : args.keyword) ns.as_object().set(k, v);
  ev.track_namespace(ns);
  return ns;
}

Value range(Evaluator& ev, CallArgs& args) {
  std::int64_t bounds[3] = {0, 0, 1};
  const std::size_t n = args.positional.size();
  if (n < 1 || n > 3) ev.fail("range() takes 1 to 3 arguments");
  for (std::size_t i = 0; i < n; ++i) {
    if (!args.positional[i].is_int()) ev.fail("range() arguments must be integers");
  }
  if (n == 1) {
    bounds[1] = args.positional[0].as_int();
  } else {
    bounds[0] = args.positional[0].as_int();
    bounds[1] = args.positional[1].as_int();
    if (n == 3) bounds[2] = args.positional[2].as_int();
  }
  const auto [start, stop, step] = bounds;
  if (step == 0) ev.fail("range() step must not be zero");
  // Count first (in unsigned arithmetic, so huge bounds cannot overflow), so that the loop
  // budget refuses range(10**12) before anything is allocated.
  std::uint64_t count = 0;
  if (step > 0 && start < stop) {
    count = (static_cast<std::uint64_t>(stop) - static_cast<std::uint64_t>(start) - 1) / static_cast<std::uint64_t>(step) + 1;
  } else if (step < 0 && start > stop) {
    count = (static_cast<std::uint64_t>(start) - static_cast<std::uint64_t>(stop) - 1) / (0 - static_cast<std::uint64_t>(step)) + 1;
  }
  if (count > ev.limits().max_loop_iterations) ev.count_iterations(ev.limits().max_loop_iterations + 1);
  ev.charge(static_cast<std::size_t>(count) * sizeof(Value));
  Array out;
  out.reserve(static_cast<std::size_t>(count));
  std::int64_t v = start;
  for (std::uint64_t i = 0; i < count; ++i, v += (i < count ? step : 0)) out.emplace_back(v);
  return Value::array(std::move(out));
}

// transformers' strftime_now(format): datetime.now().strftime(format). A fixed clock is
// formatted in UTC, the current time in local time.
Value strftime_now(Evaluator& ev, CallArgs& args, const std::optional<std::chrono::system_clock::time_point>& clock) {
  if (args.positional.empty() || !args.positional[0].is_string()) ev.fail("strftime_now() takes a format string");
  const std::time_t now = std::chrono::system_clock::to_time_t(clock.value_or(std::chrono::system_clock::now()));
  std::tm parts{};
  if (clock) {
    gmtime_r(&now, &parts);
  } else {
    localtime_r(&now, &parts);
  }
  char buf[256];
  const std::size_t n = std::strftime(buf, sizeof buf, args.positional[0].as_string().c_str(), &parts);
  return Value(std::string(buf, n));
}

}  // namespace

void install_globals(Scope& scope, std::optional<std::chrono::system_clock::time_point> now) {
  bind(scope, "raise_exception", [](Evaluator&, CallArgs& args) -> Value {
    // transformers raises TemplateError(message): the message is exactly the argument.
    const std::string message = args.positional.empty() ? std::string() : to_display_string(args.positional[0]);
    throw Error(ErrorCode::template_error, message);
  });
  bind(scope, "namespace", make_namespace);
  bind(scope, "range", range);
  bind(scope, "strftime_now", [now](Evaluator& ev, CallArgs& args) { return strftime_now(ev, args, now); });
  bind(scope, "dict", [](Evaluator&, CallArgs& args) -> Value {
    auto d = Value::object();
    for (const auto& [k, v] : args.keyword) d.as_object().set(k, v);
    return d;
  });
}

}  // namespace slim::chat
