#include "chat/evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "chat/builtins.hpp"
#include "chat/slice.hpp"
#include "chat/text.hpp"
#include "slim/error.hpp"

namespace slim::chat {

const Value* Scope::find(std::string_view name) const {
  for (const Scope* s = this; s; s = s->parent_) {
    for (const auto& [k, v] : s->vars_) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

void Scope::set(std::string_view name, Value value) {
  for (auto& [k, v] : vars_) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars_.emplace_back(std::string(name), std::move(value));
}

void Evaluator::fail(const std::string& message) const {
  throw Error(ErrorCode::template_error, "chat template error at line " + std::to_string(line_) + ": " + message);
}

void Evaluator::fail_undefined(const Value& value) const {
  fail(value.undefined_message());
}

void Evaluator::check_size(std::size_t bytes) const {
  if (bytes > limits_.max_output_bytes) {
    throw Error(ErrorCode::limit_exceeded, "chat template at line " + std::to_string(line_) +
                                               ": output exceeds max_output_bytes (" +
                                               std::to_string(limits_.max_output_bytes) + ")");
  }
}

Evaluator::~Evaluator() {
  for (Value& ns : namespaces_) ns.as_object().items.clear();
}

void Evaluator::charge(std::size_t bytes) {
  if (bytes > limits_.max_total_bytes - std::min(total_bytes_, limits_.max_total_bytes)) {
    throw Error(ErrorCode::limit_exceeded, "chat template at line " + std::to_string(line_) +
                                               ": builds more than max_total_bytes (" +
                                               std::to_string(limits_.max_total_bytes) + ") of strings and lists");
  }
  total_bytes_ += bytes;
}

void Evaluator::count_iterations(std::size_t count) {
  if (count > limits_.max_loop_iterations - iterations_) {
    throw Error(ErrorCode::limit_exceeded, "chat template at line " + std::to_string(line_) +
                                               ": more than max_loop_iterations (" +
                                               std::to_string(limits_.max_loop_iterations) + ") loop iterations");
  }
  iterations_ += count;
}

void Evaluator::append(std::string& out, std::string_view text) const {
  check_size(out.size() + text.size());
  out.append(text);
}

std::string Evaluator::render(const Body& body) {
  std::string out;
  exec_body(body, root_, out);
  return out;
}

Evaluator::Flow Evaluator::exec_body(const Body& body, Scope& scope, std::string& out) {
  for (const auto& node : body) {
    const Flow flow = exec(*node, scope, out);
    if (flow != Flow::normal) return flow;
  }
  return Flow::normal;
}

Evaluator::Flow Evaluator::exec(const Node& node, Scope& scope, std::string& out) {
  line_ = node.line;
  switch (node.kind) {
    case Node::Kind::text: append(out, node.text); break;
    case Node::Kind::output: append(out, to_display_string(eval(*node.expr, scope))); break;
    case Node::Kind::if_:
      for (const auto& [condition, body] : node.branches) {
        if (eval(*condition, scope).truthy()) return exec_body(body, scope, out);
      }
      return exec_body(node.else_body, scope, out);
    case Node::Kind::for_: return exec_for(node, scope, out);
    case Node::Kind::set: exec_set(node, scope); break;
    case Node::Kind::macro: define_macro(node, scope); break;
    case Node::Kind::filter: {
      // The body renders in its own scope; a break or continue inside drops its text (Jinja2).
      Scope inner(&scope);
      std::string body;
      const Flow flow = exec_body(node.body, inner, body);
      if (flow != Flow::normal) return flow;
      charge_string(body.size());
      append(out, to_display_string(filter_chain(*node.expr, Value(std::move(body)), scope)));
      break;
    }
    case Node::Kind::break_: return Flow::break_loop;
    case Node::Kind::continue_: return Flow::continue_loop;
  }
  return Flow::normal;
}

namespace {

void bind_targets(Evaluator& ev, Scope& scope, const std::vector<std::string>& targets, const Value& value) {
  if (targets.size() == 1) {
    scope.set(targets[0], value);
    return;
  }
  if (!value.is_array()) ev.fail(std::string("cannot unpack a ") + value.type_name() + " into " + std::to_string(targets.size()) + " names");
  const Array& items = value.as_array();
  if (items.size() != targets.size()) {
    ev.fail("expected " + std::to_string(targets.size()) + " values to unpack, got " + std::to_string(items.size()));
  }
  for (std::size_t i = 0; i < targets.size(); ++i) scope.set(targets[i], items[i]);
}

}  // namespace

// The value a for loop walks, as a list: lists as they are (not copied), dict keys, string code
// points, nothing for Undefined.
Value Evaluator::iterable(const Value& value) {
  switch (value.type()) {
    case Value::Type::undefined: return Value::array();  // Jinja's Undefined iterates as empty
    case Value::Type::array: return value;
    case Value::Type::object: {
      charge(value.as_object().items.size() * sizeof(Value));
      Array keys;
      for (const auto& item : value.as_object().items) keys.emplace_back(item.first);
      return Value::array(std::move(keys));
    }
    case Value::Type::string: {
      charge(value.as_string().size() * sizeof(Value));
      Array chars;
      for (auto& c : split_code_points(value.as_string())) chars.emplace_back(std::move(c));
      return Value::array(std::move(chars));
    }
    default: fail(std::string("'") + value.type_name() + "' object is not iterable");
  }
}

Evaluator::Flow Evaluator::exec_for(const Node& node, Scope& scope, std::string& out) {
  Value list = iterable(eval(*node.expr, scope));
  Scope loop_scope(&scope);
  if (node.condition) {  // `for x in xs if cond`: filtered before the loop, so loop.length counts kept items
    Array kept;
    for (const Value& item : list.as_array()) {
      count_iterations(1);
      bind_targets(*this, loop_scope, node.targets, item);
      if (eval(*node.condition, loop_scope).truthy()) kept.push_back(item);
    }
    list = Value::array(std::move(kept));
  }
  const Array& items = list.as_array();  // `list` keeps it alive; templates cannot mutate lists
  const std::size_t n = items.size();
  for (std::size_t i = 0; i < n; ++i) {
    line_ = node.line;
    count_iterations(1);
    auto loop = Value::object();
    Object& fields = loop.as_object();
    const auto si = static_cast<std::int64_t>(i);
    const auto sn = static_cast<std::int64_t>(n);
    fields.items.reserve(9);
    fields.items.emplace_back("index", Value(si + 1));
    fields.items.emplace_back("index0", Value(si));
    fields.items.emplace_back("revindex", Value(sn - si));
    fields.items.emplace_back("revindex0", Value(sn - si - 1));
    fields.items.emplace_back("first", Value(i == 0));
    fields.items.emplace_back("last", Value(i + 1 == n));
    fields.items.emplace_back("length", Value(sn));
    fields.items.emplace_back("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    fields.items.emplace_back("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    fields.depth = 1 + std::max(fields.items[7].second.depth(), fields.items[8].second.depth());
    loop_scope.set("loop", std::move(loop));
    bind_targets(*this, loop_scope, node.targets, items[i]);
    if (exec_body(node.body, loop_scope, out) == Flow::break_loop) break;
  }
  if (n == 0) return exec_body(node.else_body, loop_scope, out);
  return Flow::normal;
}

void Evaluator::exec_set(const Node& node, Scope& scope) {
  Value value;
  if (node.expr) {
    value = eval(*node.expr, scope);
  } else {
    std::string captured;
    if (exec_body(node.body, scope, captured) != Flow::normal) fail("break/continue outside a loop");
    charge_string(captured.size());
    value = Value(std::move(captured));
  }
  if (node.target_object) {
    const Value object = eval(*node.target_object, scope);
    if (!object.is_object() || !object.as_object().is_namespace) {
      fail("cannot assign attribute '" + node.text + "' on a " + object.type_name() + " (only namespace() objects)");
    }
    object.as_object().set(node.text, std::move(value));
    return;
  }
  bind_targets(*this, scope, node.targets, value);
}

void Evaluator::define_macro(const Node& node, Scope& scope) {
  const Node* macro = &node;
  auto fn = std::make_shared<Function>();
  fn->name = node.text;
  fn->kind = Function::Kind::macro;
  fn->call = [macro](Evaluator& ev, CallArgs& args) -> Value {
    if (args.positional.size() > macro->params.size()) {
      ev.fail("macro '" + macro->text + "' takes " + std::to_string(macro->params.size()) + " arguments, got " +
              std::to_string(args.positional.size()));
    }
    if (++ev.macro_calls_ > ev.limits_.max_macro_calls) {
      throw Error(ErrorCode::limit_exceeded, "chat template at line " + std::to_string(ev.line_) +
                                                 ": more than max_macro_calls (" +
                                                 std::to_string(ev.limits_.max_macro_calls) + ") macro calls");
    }
    if (++ev.call_depth_ > ev.limits_.max_call_depth) {
      --ev.call_depth_;
      throw Error(ErrorCode::limit_exceeded, "chat template at line " + std::to_string(ev.line_) +
                                                 ": macro calls nested deeper than max_call_depth (" +
                                                 std::to_string(ev.limits_.max_call_depth) + ")");
    }
    struct DepthRelease {
      Evaluator& ev;
      ~DepthRelease() { --ev.call_depth_; }
    } release{ev};
    Scope local(&ev.root_);
    for (std::size_t i = 0; i < macro->params.size(); ++i) {
      const MacroParam& param = macro->params[i];
      if (i < args.positional.size()) {
        local.set(param.name, args.positional[i]);
      } else if (const Value* v = args.kwarg(param.name)) {
        local.set(param.name, *v);
      } else if (param.default_value) {
        local.set(param.name, ev.eval(*param.default_value, local));
      } else {
        local.set(param.name, Value::undefined("parameter " + python_string_repr(param.name) + " was not provided"));
      }
    }
    for (const auto& [key, value] : args.keyword) {
      bool known = false;
      for (const auto& param : macro->params) known = known || param.name == key;
      if (!known) ev.fail("macro '" + macro->text + "' has no parameter '" + key + "'");
    }
    std::string out;
    const int caller_line = ev.line_;
    if (ev.exec_body(macro->body, local, out) != Flow::normal) ev.fail("break/continue outside a loop");
    ev.line_ = caller_line;
    ev.charge_string(out.size());
    return Value(std::move(out));
  };
  scope.set(node.text, Value(std::shared_ptr<const Function>(std::move(fn))));
}

Value Evaluator::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (!callee.is_function()) fail(std::string("'") + callee.type_name() + "' object is not callable");
  return callee.as_function().call(*this, args);
}

CallArgs Evaluator::eval_args(const Expr& expr, Scope& scope, std::size_t first) {
  CallArgs args;
  for (std::size_t i = first; i < expr.items.size(); ++i) args.positional.push_back(eval(*expr.items[i], scope));
  for (const auto& [key, value] : expr.keywords) args.keyword.emplace_back(key, eval(*value, scope));
  return args;
}

Value Evaluator::filter_chain(const Expr& link, Value operand, Scope& scope) {
  if (link.items[0]) operand = filter_chain(*link.items[0], std::move(operand), scope);
  return eval_filter(link, std::move(operand), scope);
}

Value Evaluator::eval_filter(const Expr& expr, Value operand, Scope& scope) {
  CallArgs args = eval_args(expr, scope, 1);
  line_ = expr.line;
  if (operand.is_string()) charge(operand.as_string().size());
  Value result = apply_filter(*this, expr.name, operand, args);
  if (result.is_string()) charge_string(result.as_string().size());
  return result;
}

Value Evaluator::eval_call(const Expr& expr, Scope& scope) {
  const Expr& callee = *expr.items[0];
  if (callee.kind == Expr::Kind::attr) {
    Value object = eval(*callee.items[0], scope);
    CallArgs args = eval_args(expr, scope, 1);
    line_ = expr.line;
    if (object.is_undefined()) fail_undefined(object);
    if (object.is_string()) charge(object.as_string().size());
    if (auto result = call_method(*this, object, callee.name, args)) {
      if (result->is_string()) charge_string(result->as_string().size());
      return std::move(*result);
    }
    const Value* member = object.is_object() ? object.as_object().find(callee.name) : nullptr;
    if (!member) fail_undefined(missing_attribute(object, callee.name));  // Jinja2 calls an Undefined
    return call(*member, args);
  }
  Value fn = eval(callee, scope);
  CallArgs args = eval_args(expr, scope, 1);
  line_ = expr.line;
  return call(fn, args);
}

// Jinja2's getattr (`x.name`): a str or dict method of that name first (so `d.items` is the method
// whatever d's keys are), then a dict's key. The immutable sandbox hides methods that modify.
Value get_attribute(const Value& object, const std::string& name) {
  if (object.is_object() && !object.as_object().is_namespace) {
    if (name == "clear" || name == "pop" || name == "popitem" || name == "setdefault" || name == "update") {
      return Value::undefined("access to attribute " + python_string_repr(name) + " of 'dict' object is unsafe.");
    }
  }
  if (has_method(object, name)) {
    auto fn = std::make_shared<Function>();
    fn->name = name;
    fn->kind = Function::Kind::method;
    fn->call = [object, name](Evaluator& ev, CallArgs& args) { return *call_method(ev, object, name, args); };
    return Value(std::shared_ptr<const Function>(std::move(fn)));
  }
  if (object.is_object()) {
    if (const Value* v = object.as_object().find(name)) return *v;
  }
  return missing_attribute(object, name);
}

// Jinja2's getitem (`x[key]`): a dict's key, a list's or str's index (negative from the end),
// else, for a string key, the attribute of that name; missing ones are Undefined.
Value get_item(const Value& object, const Value& key) {
  if (object.is_object() && key.is_string()) {
    if (const Value* v = object.as_object().find(key.as_string())) return *v;
  }
  if ((object.is_array() && !object.is_iterator()) || object.is_string()) {
    if (key.is_int() || key.is_bool()) {
      const std::int64_t raw = key.is_int() ? key.as_int() : (key.as_bool() ? 1 : 0);
      if (object.is_array()) {
        const auto n = static_cast<std::int64_t>(object.as_array().size());
        const std::int64_t i = raw < 0 ? raw + n : raw;
        if (i >= 0 && i < n) return object.as_array()[static_cast<std::size_t>(i)];
      } else {
        const auto chars = split_code_points(object.as_string());
        const auto n = static_cast<std::int64_t>(chars.size());
        const std::int64_t i = raw < 0 ? raw + n : raw;
        if (i >= 0 && i < n) return Value(chars[static_cast<std::size_t>(i)]);
      }
    }
  }
  if (key.is_string()) {
    if (object.is_object() && !object.as_object().is_namespace) return missing_attribute(object, key.as_string());
    return get_attribute(object, key.as_string());
  }
  return missing_element(object, key);
}

Value Evaluator::eval(const Expr& expr, Scope& scope) {
  switch (expr.kind) {
    case Expr::Kind::literal: return expr.value;
    case Expr::Kind::name: {
      const Value* v = scope.find(expr.name);
      return v ? *v : undefined_variable(expr.name);
    }
    case Expr::Kind::list:
    case Expr::Kind::tuple: {
      Array items;
      for (const auto& item : expr.items) items.push_back(eval(*item, scope));
      return expr.kind == Expr::Kind::tuple ? Value::tuple(std::move(items)) : Value::array(std::move(items));
    }
    case Expr::Kind::dict: {
      auto dict = Value::object();
      for (std::size_t i = 0; i + 1 < expr.items.size(); i += 2) {
        const Value key = eval(*expr.items[i], scope);
        line_ = expr.line;
        if (!key.is_string()) fail(std::string("dict keys must be strings, got ") + key.type_name());
        dict.as_object().set(key.as_string(), eval(*expr.items[i + 1], scope));
      }
      return dict;
    }
    case Expr::Kind::attr: {
      // A missing attribute is Undefined; any attribute of an Undefined raises (Jinja2's default).
      const Value object = eval(*expr.items[0], scope);
      line_ = expr.line;
      if (object.is_undefined()) fail_undefined(object);
      return get_attribute(object, expr.name);
    }
    case Expr::Kind::item: {
      const Value object = eval(*expr.items[0], scope);
      const Value key = eval(*expr.items[1], scope);
      line_ = expr.line;
      if (object.is_undefined()) fail_undefined(object);
      if (object.is_string()) charge(object.as_string().size());
      return get_item(object, key);
    }
    case Expr::Kind::slice: {
      const Value object = eval(*expr.items[0], scope);
      std::optional<std::int64_t> bounds[3];
      for (int k = 0; k < 3; ++k) {
        if (!expr.items[static_cast<std::size_t>(k) + 1]) continue;
        const Value b = eval(*expr.items[static_cast<std::size_t>(k) + 1], scope);
        if (b.is_none() || b.is_undefined()) continue;
        line_ = expr.line;
        if (!b.is_int()) fail(std::string("slice indices must be integers, got ") + b.type_name());
        bounds[k] = b.as_int();
      }
      line_ = expr.line;
      if (object.is_undefined()) fail_undefined(object);
      if (bounds[2] && *bounds[2] == 0) fail("slice step cannot be zero");
      if (object.is_string()) charge(object.as_string().size() * 2);
      if (object.is_iterator()) return Value::undefined(python_string_repr(std::string(object.type_name()) + " object") + " is not subscriptable");
      if (object.is_array()) charge(object.as_array().size() * sizeof(Value));
      if (object.is_array()) {
        Array items = slice_of(object.as_array(), bounds[0], bounds[1], bounds[2]);
        return object.is_tuple() ? Value::tuple(std::move(items)) : Value::array(std::move(items));
      }
      if (object.is_string()) {
        std::string out;
        for (const auto& c : slice_of(split_code_points(object.as_string()), bounds[0], bounds[1], bounds[2])) out += c;
        return Value(std::move(out));
      }
      fail(std::string("cannot slice a ") + object.type_name());
    }
    case Expr::Kind::call: return eval_call(expr, scope);
    case Expr::Kind::filter: return eval_filter(expr, eval(*expr.items[0], scope), scope);
    case Expr::Kind::test: {
      const Value operand = eval(*expr.items[0], scope);
      CallArgs args = eval_args(expr, scope, 1);
      line_ = expr.line;
      return Value(apply_test(*this, expr.name, operand, args) != expr.negated);
    }
    case Expr::Kind::unary: {
      const Value operand = eval(*expr.items[0], scope);
      line_ = expr.line;
      if (expr.name == "not") return Value(!operand.truthy());
      if (operand.is_undefined()) fail_undefined(operand);
      if (operand.is_int() || operand.is_bool()) {
        const std::int64_t v = operand.is_int() ? operand.as_int() : operand.as_bool();
        if (expr.name == "-" && v == std::numeric_limits<std::int64_t>::min()) fail("integer overflow");
        return Value(expr.name == "-" ? -v : v);
      }
      if (operand.is_float()) return Value(expr.name == "-" ? -operand.as_float() : operand.as_float());
      fail(std::string("bad operand type for unary ") + expr.name + ": '" + operand.type_name() + "'");
    }
    case Expr::Kind::binary: return eval_binary(expr, scope);
    case Expr::Kind::ternary: {
      if (eval(*expr.items[0], scope).truthy()) return eval(*expr.items[1], scope);
      if (expr.items[2]) return eval(*expr.items[2], scope);
      return Value::undefined("the inline if-expression on line " + std::to_string(expr.line) +
                              " evaluated to false and no else section was defined.");
    }
  }
  return Value();
}

namespace {

bool contains(Evaluator& ev, const Value& container, const Value& item) {
  if (container.is_string()) ev.charge(container.as_string().size());
  if (container.is_array()) ev.charge(container.as_array().size() * sizeof(Value));
  switch (container.type()) {
    case Value::Type::undefined: return false;
    case Value::Type::string:
      if (!item.is_string()) ev.fail(std::string("'in <string>' requires string as left operand, not ") + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Type::array:
      for (const Value& v : container.as_array()) {
        if (equals(v, item)) return true;
      }
      return false;
    case Value::Type::object: return item.is_string() && container.as_object().find(item.as_string()) != nullptr;
    default: ev.fail(std::string("argument of type '") + container.type_name() + "' is not iterable");
  }
}

}  // namespace

int compare_values(Evaluator& ev, const Value& a, const Value& b, const std::string& op) {
  if ((a.is_number() || a.is_bool()) && (b.is_number() || b.is_bool())) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    const double x = a.as_number();
    const double y = b.as_number();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.as_string().compare(b.as_string()) < 0 ? -1 : a.as_string() == b.as_string() ? 0 : 1;
  ev.fail("'" + op + "' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

namespace {

template <typename Op>
std::int64_t checked(Evaluator& ev, Op op, std::int64_t a, std::int64_t b) {
  std::int64_t result = 0;
  if (op(a, b, &result)) ev.fail("integer overflow");
  return result;
}

}  // namespace

Value Evaluator::eval_binary(const Expr& expr, Scope& scope) {
  const std::string& op = expr.name;
  Value left = eval(*expr.items[0], scope);
  if (op == "and") return left.truthy() ? eval(*expr.items[1], scope) : left;
  if (op == "or") return left.truthy() ? left : eval(*expr.items[1], scope);
  const Value right = eval(*expr.items[1], scope);
  line_ = expr.line;
  if (op == "==") return Value(equals(left, right));
  if (op == "!=") return Value(!equals(left, right));
  if (op == "in") return Value(contains(*this, right, left));
  if (op == "not in") return Value(!contains(*this, right, left));
  if (op == "~") {
    std::string out = to_display_string(left);
    out += to_display_string(right);
    charge_string(out.size());
    return Value(std::move(out));
  }
  if (left.is_undefined()) fail_undefined(left);
  if (right.is_undefined()) fail_undefined(right);
  if (op == "<") return Value(compare_values(*this, left, right, op) < 0);
  if (op == ">") return Value(compare_values(*this, left, right, op) > 0);
  if (op == "<=") return Value(compare_values(*this, left, right, op) <= 0);
  if (op == ">=") return Value(compare_values(*this, left, right, op) >= 0);

  const bool numbers = (left.is_number() || left.is_bool()) && (right.is_number() || right.is_bool());
  if (op == "+" && left.is_string() && (left.is_markup() || right.is_markup())) {
    // Markup + str and str + Markup escape the plain str (markupsafe); Markup + non-str raises.
    if (!right.is_string()) fail(std::string("unsupported operand type(s) for +: 'Markup' and '") + right.type_name() + "'");
    std::string out = left.is_markup() ? left.as_string() : html_escape(left.as_string());
    out += right.is_markup() ? right.as_string() : html_escape(right.as_string());
    charge_string(out.size());
    return Value::markup(std::move(out));
  }
  if (op == "+" && (left.is_string() || (left.is_array() && !left.is_iterator()))) {
    // Python's +: str + str, list + list and tuple + tuple concatenate, anything else beside a
    // str, list or tuple on the left raises (a number on the left fails below).
    const char* kind = left.type_name();
    if (left.type() != right.type() || right.is_iterator() || left.is_tuple() != right.is_tuple()) {
      fail(std::string("can only concatenate ") + kind + " (not \"" + right.type_name() + "\") to " + kind);
    }
    if (left.is_string()) {
      std::string out = left.as_string();
      out += right.as_string();
      charge_string(out.size());
      return Value(std::move(out));
    }
    charge((left.as_array().size() + right.as_array().size()) * sizeof(Value));
    Array items = left.as_array();
    items.insert(items.end(), right.as_array().begin(), right.as_array().end());
    return left.is_tuple() ? Value::tuple(std::move(items)) : Value::array(std::move(items));
  }
  if (op == "*" && (left.is_string() || (left.is_array() && !left.is_iterator())) && right.is_int()) {
    const std::int64_t times = std::max<std::int64_t>(0, right.as_int());
    const std::size_t unit = left.is_string() ? left.as_string().size() : left.as_array().size();
    if (unit != 0 && static_cast<std::uint64_t>(times) > limits_.max_output_bytes / unit) check_size(limits_.max_output_bytes + 1);
    charge(static_cast<std::size_t>(times) * unit * (left.is_string() ? 1 : sizeof(Value)));
    if (left.is_string()) {
      std::string out;
      for (std::int64_t i = 0; i < times; ++i) out += left.as_string();
      return Value(std::move(out));
    }
    Array items;
    for (std::int64_t i = 0; i < times; ++i) items.insert(items.end(), left.as_array().begin(), left.as_array().end());
    return left.is_tuple() ? Value::tuple(std::move(items)) : Value::array(std::move(items));
  }
  if (!numbers) {
    fail("unsupported operand type(s) for " + op + ": '" + left.type_name() + "' and '" + right.type_name() + "'");
  }
  const bool ints = !left.is_float() && !right.is_float();
  if (ints) {
    const std::int64_t a = left.is_int() ? left.as_int() : left.as_bool();
    const std::int64_t b = right.is_int() ? right.as_int() : right.as_bool();
    using I = std::int64_t;
    if (op == "+") return Value(checked(*this, [](I x, I y, I* r) { return __builtin_add_overflow(x, y, r); }, a, b));
    if (op == "-") return Value(checked(*this, [](I x, I y, I* r) { return __builtin_sub_overflow(x, y, r); }, a, b));
    if (op == "*") return Value(checked(*this, [](I x, I y, I* r) { return __builtin_mul_overflow(x, y, r); }, a, b));
    if (op == "//" || op == "%") {
      if (b == 0) fail("integer division or modulo by zero");
      if (a == std::numeric_limits<std::int64_t>::min() && b == -1) fail("integer overflow");
      std::int64_t q = a / b;
      std::int64_t m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) {  // Python floors toward negative infinity
        --q;
        m += b;
      }
      return Value(op == "//" ? q : m);
    }
    if (op == "**" && b >= 0) {
      if (a == 0 || a == 1) return Value(b == 0 ? std::int64_t{1} : a);
      if (a == -1) return Value(std::int64_t{b % 2 == 0 ? 1 : -1});
      std::int64_t result = 1;  // |a| >= 2 overflows within 63 steps
      for (std::int64_t i = 0; i < b; ++i) {
        if (__builtin_mul_overflow(result, a, &result)) fail("integer overflow");
      }
      return Value(result);
    }
  }
  const double a = left.as_number();
  const double b = right.as_number();
  if (op == "+") return Value(a + b);
  if (op == "-") return Value(a - b);
  if (op == "*") return Value(a * b);
  if (op == "/") {
    if (b == 0) fail("division by zero");
    return Value(a / b);
  }
  if (op == "//" || op == "%") {
    if (b == 0) fail("float division or modulo by zero");
    const double q = std::floor(a / b);
    return Value(op == "//" ? q : a - q * b);
  }
  if (op == "**") return Value(std::pow(a, b));
  fail("unknown operator '" + op + "'");
}

}  // namespace slim::chat
