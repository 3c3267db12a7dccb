// Walks a parsed template and renders it. Scopes follow Jinja: a for loop and a macro call open a
// new scope (so `set` inside them does not leak out; namespace() objects exist for that), `if`
// does not. Resource limits are enforced here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/ast.hpp"
#include "chat/value.hpp"
#include "slim/chat_template.hpp"

namespace slim::chat {

class Scope {
 public:
  explicit Scope(Scope* parent = nullptr) : parent_(parent) {}
  // The innermost binding of `name`, or nullptr.
  const Value* find(std::string_view name) const;
  // Binds `name` in this scope.
  void set(std::string_view name, Value value);
  Scope* parent() const { return parent_; }

 private:
  Scope* parent_;
  std::vector<std::pair<std::string, Value>> vars_;
};

class Evaluator {
 public:
  // `root` holds the globals and the render's variables; top-level `set` writes there.
  Evaluator(const ChatTemplateLimits& limits, Scope& root) : limits_(limits), root_(root) {}
  // Empties the render's namespaces, which breaks any cycle a template made through them.
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  std::string render(const Body& body);

  Value eval(const Expr& expr, Scope& scope);
  Value call(const Value& callee, CallArgs& args);

  // Runtime error at the current template line: slim::Error(ErrorCode::template_error).
  [[noreturn]] void fail(const std::string& message) const;
  // Any string a template builds is bounded by max_output_bytes.
  void check_size(std::size_t bytes) const;
  // Adds `bytes` built or scanned to the render's max_total_bytes budget.
  void charge(std::size_t bytes);
  // For a string just built: check_size and charge.
  void charge_string(std::size_t bytes) {
    check_size(bytes);
    charge(bytes);
  }
  void track_namespace(const Value& ns) { namespaces_.push_back(ns); }
  // Reserves `count` loop iterations from the render's budget.
  void count_iterations(std::size_t count);
  const ChatTemplateLimits& limits() const { return limits_; }

 private:
  enum class Flow { normal, break_loop, continue_loop };

  Flow exec_body(const Body& body, Scope& scope, std::string& out);
  Flow exec(const Node& node, Scope& scope, std::string& out);
  Flow exec_for(const Node& node, Scope& scope, std::string& out);
  void exec_set(const Node& node, Scope& scope);
  void define_macro(const Node& node, Scope& scope);
  void append(std::string& out, std::string_view text) const;

  Value eval_call(const Expr& expr, Scope& scope);
  // Applies filter `expr` to `operand` (the value of its items[0]).
  Value eval_filter(const Expr& expr, Value operand, Scope& scope);
  // A filter block's chain: the filters below `link` first, the innermost to the body's text.
  Value filter_chain(const Expr& link, Value operand, Scope& scope);
  CallArgs eval_args(const Expr& expr, Scope& scope, std::size_t first);
  Value eval_binary(const Expr& expr, Scope& scope);
  Value iterable(const Value& value);
  [[noreturn]] void fail_undefined(const Value& value) const;

  const ChatTemplateLimits& limits_;
  Scope& root_;
  std::vector<Value> namespaces_;
  std::size_t iterations_ = 0;
  std::size_t total_bytes_ = 0;
  std::size_t call_depth_ = 0;
  std::size_t macro_calls_ = 0;
  int line_ = 0;
};

}  // namespace slim::chat
