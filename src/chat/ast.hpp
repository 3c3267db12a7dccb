// The syntax tree of a parsed template: expressions and statements. Plain structs with a kind tag;
// the parser builds them, the evaluator walks them.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.hpp"

namespace slim::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    literal,  // value
    name,     // name
    list,     // items
    tuple,    // items
    dict,     // items: key, value, key, value, ...
    attr,     // items[0].name
    item,     // items[0][items[1]]
    slice,    // items[0][items[1]:items[2]:items[3]] (null pointers where left out)
    call,     // items[0](items[1..], keywords)
    filter,   // items[0] | name(items[1..], keywords); items[0] is null in a filter block's chain
    test,     // items[0] is [not] name(items[1..]); negated
    unary,    // name ("not", "-", "+") items[0]
    binary,   // items[0] name items[1]; name is the operator ("and", "or", "in", "not in", "+", ...)
    ternary,  // items[1] if items[0] else items[2] (items[2] may be null)
  };
  Kind kind;
  int line = 0;
  int column = 0;
  Value value;
  std::string name;
  std::vector<ExprPtr> items;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  bool negated = false;
};

struct Node;
using Body = std::vector<std::unique_ptr<Node>>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null when the parameter has no default
};

struct Node {
  enum class Kind {
    text,       // text
    output,     // {{ expr }}
    if_,        // branches (condition, body); else_body
    for_,       // targets in expr [if condition]: body; else_body
    set,        // targets = expr, or target_object.attribute = expr, or block form (body)
    macro,      // name(params): body
    filter,     // {% filter f(args) | g %} body {% endfilter %}: expr is the chain of filter exprs
    break_,
    continue_,
  };
  Kind kind;
  int line = 0;
  int column = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<std::string> targets;
  ExprPtr target_object;  // set ns.attr = ...: the `ns` expression; `text` holds "attr"
  std::vector<MacroParam> params;
};

}  // namespace slim::chat
