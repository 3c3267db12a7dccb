#include "chat/parser.hpp"

#include <cerrno>
#include <cstdlib>
#include <initializer_list>

#include "chat/lexer.hpp"
#include "slim/error.hpp"

namespace slim::chat {

namespace {

// Deeper nesting than this is refused so that a hostile template cannot overflow the stack.
constexpr int kMaxNesting = 200;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse_all() {
    std::string end_tag;
    Body body = parse_body({}, end_tag);
    return body;
  }

 private:
  // --- token helpers ------------------------------------------------------------------------
  const Token& peek(std::size_t ahead = 0) const {
    const std::size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool at_op(std::string_view op, std::size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::op && peek(ahead).value == op;
  }
  bool at_name(std::string_view name, std::size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::name && peek(ahead).value == name;
  }
  bool accept_op(std::string_view op) {
    if (!at_op(op)) return false;
    next();
    return true;
  }
  bool accept_name(std::string_view name) {
    if (!at_name(name)) return false;
    next();
    return true;
  }
  void expect_op(std::string_view op) {
    if (!accept_op(op)) fail(peek(), "expected '" + std::string(op) + "', got " + describe(peek()));
  }
  std::string expect_name(const char* what) {
    if (peek().kind != TokenKind::name) fail(peek(), std::string("expected ") + what + ", got " + describe(peek()));
    return next().value;
  }
  void expect(TokenKind kind, const char* what) {
    if (peek().kind != kind) fail(peek(), std::string("expected ") + what + ", got " + describe(peek()));
    next();
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::end: return "end of template";
      case TokenKind::block_end: return "'%}'";
      case TokenKind::var_end: return "'}}'";
      case TokenKind::text: return "template text";
      case TokenKind::string: return "a string";
      default: return "'" + t.value + "'";
    }
  }
  [[noreturn]] static void fail(const Token& at, const std::string& message) {
    throw Error(ErrorCode::template_error, "chat template syntax error at line " + std::to_string(at.line) +
                                               ", column " + std::to_string(at.column) + ": " + message);
  }

  struct DepthGuard {
    DepthGuard(Parser& p, const Token& at) : parser(p) {
      if (++parser.depth_ > kMaxNesting) fail(at, "template nested too deeply");
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  template <typename T>
  static std::unique_ptr<T> make(typename T::Kind kind, const Token& at) {
    auto node = std::make_unique<T>();
    node->kind = kind;
    node->line = at.line;
    node->column = at.column;
    return node;
  }

  // --- statements ---------------------------------------------------------------------------
  // Parses nodes until a block tag named in `stops` (consumed up to and including its name, whose
  // name goes to `end_tag`), or the end of the template when `stops` is empty.
  Body parse_body(std::initializer_list<std::string_view> stops, std::string& end_tag) {
    DepthGuard guard(*this, peek());
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::end) {
        if (stops.size() == 0) return body;
        std::string names;
        for (auto s : stops) names += (names.empty() ? "'" : " or '") + std::string(s) + "'";
        fail(t, "unexpected end of template: expected " + names);
      }
      if (t.kind == TokenKind::text) {
        auto node = make<Node>(Node::Kind::text, t);
        node->text = next().value;
        body.push_back(std::move(node));
      } else if (t.kind == TokenKind::var_begin) {
        next();
        auto node = make<Node>(Node::Kind::output, t);
        node->expr = parse_expression();
        expect(TokenKind::var_end, "'}}'");
        body.push_back(std::move(node));
      } else if (t.kind == TokenKind::block_begin) {
        const Token& name = peek(1);
        for (auto s : stops) {
          if (name.kind == TokenKind::name && name.value == s) {
            next();
            end_tag = next().value;
            return body;
          }
        }
        next();
        if (auto node = parse_statement()) body.push_back(std::move(node));
      } else {
        fail(t, "unexpected " + describe(t));
      }
    }
  }

  std::unique_ptr<Node> parse_statement() {
    const Token& at = peek();
    const std::string tag = expect_name("a tag name");
    if (tag == "if") return parse_if(at);
    if (tag == "for") return parse_for(at);
    if (tag == "set") return parse_set(at);
    if (tag == "macro") return parse_macro(at);
    if (tag == "filter") return parse_filter_block(at);
    if (tag == "break" || tag == "continue") {
      expect(TokenKind::block_end, "'%}'");
      return make<Node>(tag == "break" ? Node::Kind::break_ : Node::Kind::continue_, at);
    }
    if (tag == "generation" || tag == "endgeneration") {
      // transformers' marker for assistant-token masks: it renders nothing.
      expect(TokenKind::block_end, "'%}'");
      return nullptr;
    }
    static const char* const closers[] = {"endif", "elif", "else", "endfor", "endset", "endmacro", "endfilter"};
    for (const char* closer : closers) {
      if (tag == closer) fail(at, "unexpected '" + tag + "' tag");
    }
    fail(at, "unknown or unsupported tag '" + tag + "'");
  }

  std::unique_ptr<Node> parse_if(const Token& at) {
    auto node = make<Node>(Node::Kind::if_, at);
    ExprPtr condition = parse_expression();
    expect(TokenKind::block_end, "'%}'");
    while (true) {
      std::string end_tag;
      Body body = parse_body({"elif", "else", "endif"}, end_tag);
      node->branches.emplace_back(std::move(condition), std::move(body));
      if (end_tag == "elif") {
        condition = parse_expression();
        expect(TokenKind::block_end, "'%}'");
        continue;
      }
      if (end_tag == "else") {
        expect(TokenKind::block_end, "'%}'");
        node->else_body = parse_body({"endif"}, end_tag);
      }
      expect(TokenKind::block_end, "'%}'");
      return node;
    }
  }

  std::unique_ptr<Node> parse_for(const Token& at) {
    auto node = make<Node>(Node::Kind::for_, at);
    do {
      node->targets.push_back(expect_name("a loop variable"));
    } while (accept_op(","));
    if (!accept_name("in")) fail(peek(), "expected 'in' in for loop, got " + describe(peek()));
    node->expr = parse_expression(/*with_ternary=*/false);
    if (accept_name("if")) node->condition = parse_expression();
    if (at_name("recursive")) fail(peek(), "recursive for loops are not supported");
    expect(TokenKind::block_end, "'%}'");
    std::string end_tag;
    node->body = parse_body({"else", "endfor"}, end_tag);
    if (end_tag == "else") {
      expect(TokenKind::block_end, "'%}'");
      node->else_body = parse_body({"endfor"}, end_tag);
    }
    expect(TokenKind::block_end, "'%}'");
    return node;
  }

  std::unique_ptr<Node> parse_set(const Token& at) {
    auto node = make<Node>(Node::Kind::set, at);
    const Token& first = peek();
    std::string name = expect_name("a variable name");
    if (accept_op(".")) {
      auto object = make<Expr>(Expr::Kind::name, first);
      object->name = std::move(name);
      node->target_object = std::move(object);
      node->text = expect_name("an attribute name");
    } else {
      node->targets.push_back(std::move(name));
      while (accept_op(",")) node->targets.push_back(expect_name("a variable name"));
    }
    if (accept_op("=")) {
      node->expr = parse_tuple_or_expression();
      expect(TokenKind::block_end, "'%}'");
      return node;
    }
    if (node->target_object || node->targets.size() != 1) fail(peek(), "expected '=' in set");
    expect(TokenKind::block_end, "'%}'");
    std::string end_tag;
    node->body = parse_body({"endset"}, end_tag);
    expect(TokenKind::block_end, "'%}'");
    return node;
  }

  std::unique_ptr<Node> parse_macro(const Token& at) {
    auto node = make<Node>(Node::Kind::macro, at);
    node->text = expect_name("a macro name");
    expect_op("(");
    while (!at_op(")")) {
      MacroParam param;
      param.name = expect_name("a parameter name");
      if (accept_op("=")) param.default_value = parse_expression();
      node->params.push_back(std::move(param));
      if (!accept_op(",")) break;
    }
    expect_op(")");
    expect(TokenKind::block_end, "'%}'");
    std::string end_tag;
    node->body = parse_body({"endmacro"}, end_tag);
    expect(TokenKind::block_end, "'%}'");
    return node;
  }

  // The chain's first filter has a null operand: the evaluator feeds it the rendered body.
  std::unique_ptr<Node> parse_filter_block(const Token& at) {
    auto node = make<Node>(Node::Kind::filter, at);
    int links = 0;
    do {
      if (++links > kMaxNesting) fail(peek(), "filter chain too long");
      auto filter = make<Expr>(Expr::Kind::filter, peek());
      filter->name = expect_name("a filter name");
      filter->items.push_back(std::move(node->expr));
      if (accept_op("(")) parse_call_args(*filter);
      node->expr = std::move(filter);
    } while (accept_op("|"));
    expect(TokenKind::block_end, "'%}'");
    std::string end_tag;
    node->body = parse_body({"endfilter"}, end_tag);
    expect(TokenKind::block_end, "'%}'");
    return node;
  }

  // --- expressions --------------------------------------------------------------------------
  ExprPtr parse_tuple_or_expression() {
    const Token& at = peek();
    ExprPtr first = parse_expression();
    if (!at_op(",")) return first;
    auto tuple = make<Expr>(Expr::Kind::tuple, at);
    tuple->items.push_back(std::move(first));
    while (accept_op(",")) {
      if (peek().kind == TokenKind::block_end) break;
      tuple->items.push_back(parse_expression());
    }
    return tuple;
  }

  ExprPtr parse_expression(bool with_ternary = true) {
    DepthGuard guard(*this, peek());
    if (!with_ternary) return parse_or();
    ExprPtr expr = parse_or();
    while (at_name("if")) {
      const Token& at = next();
      auto ternary = make<Expr>(Expr::Kind::ternary, at);
      ternary->items.push_back(parse_or());
      ternary->items.push_back(std::move(expr));
      ternary->items.push_back(accept_name("else") ? parse_expression() : nullptr);
      expr = std::move(ternary);
    }
    return expr;
  }

  ExprPtr binary(const Token& at, std::string op, ExprPtr left, ExprPtr right) {
    auto node = make<Expr>(Expr::Kind::binary, at);
    node->name = std::move(op);
    node->items.push_back(std::move(left));
    node->items.push_back(std::move(right));
    return node;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      const Token& at = next();
      left = binary(at, "or", std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      const Token& at = next();
      left = binary(at, "and", std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      DepthGuard guard(*this, peek());
      const Token& at = next();
      auto node = make<Expr>(Expr::Kind::unary, at);
      node->name = "not";
      node->items.push_back(parse_not());
      return node;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr left = parse_math1();
    while (true) {
      const Token& at = peek();
      if (at.kind == TokenKind::op &&
          (at.value == "==" || at.value == "!=" || at.value == "<" || at.value == ">" || at.value == "<=" ||
           at.value == ">=")) {
        next();
        left = binary(at, at.value, std::move(left), parse_math1());
      } else if (at_name("in")) {
        next();
        left = binary(at, "in", std::move(left), parse_math1());
      } else if (at_name("not") && at_name("in", 1)) {
        next();
        next();
        left = binary(at, "not in", std::move(left), parse_math1());
      } else {
        return left;
      }
    }
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (at_op("+") || at_op("-")) {
      const Token& at = next();
      left = binary(at, at.value, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (at_op("~")) {
      const Token& at = next();
      left = binary(at, "~", std::move(left), parse_math2());
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const Token& at = next();
      left = binary(at, at.value, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (at_op("**")) {
      const Token& at = next();
      left = binary(at, "**", std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this, peek());
    ExprPtr node;
    if (at_op("-") || at_op("+")) {
      const Token& at = next();
      node = make<Expr>(Expr::Kind::unary, at);
      node->name = at.value;
      node->items.push_back(parse_unary(false));
    } else {
      node = parse_postfix(parse_primary());
    }
    return with_filter ? parse_filters(std::move(node)) : std::move(node);
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::name: {
        next();
        auto node = make<Expr>(Expr::Kind::literal, t);
        if (t.value == "true" || t.value == "True") node->value = Value(true);
        else if (t.value == "false" || t.value == "False") node->value = Value(false);
        else if (t.value == "none" || t.value == "None") node->value = Value::none();
        else {
          node->kind = Expr::Kind::name;
          node->name = t.value;
        }
        return node;
      }
      case TokenKind::string: {
        auto node = make<Expr>(Expr::Kind::literal, t);
        std::string text;
        while (peek().kind == TokenKind::string) text += next().value;  // "a" "b" is "ab"
        node->value = Value(std::move(text));
        return node;
      }
      case TokenKind::integer: {
        next();
        auto node = make<Expr>(Expr::Kind::literal, t);
        errno = 0;
        const long long v = std::strtoll(t.value.c_str(), nullptr, 10);
        if (errno == ERANGE) fail(t, "integer literal out of range");
        node->value = Value(static_cast<std::int64_t>(v));
        return node;
      }
      case TokenKind::floating: {
        next();
        auto node = make<Expr>(Expr::Kind::literal, t);
        node->value = Value(std::strtod(t.value.c_str(), nullptr));
        return node;
      }
      case TokenKind::op:
        if (t.value == "(") return parse_paren();
        if (t.value == "[") return parse_list();
        if (t.value == "{") return parse_dict();
        break;
      default: break;
    }
    fail(t, "unexpected " + describe(t) + " in expression");
  }

  ExprPtr parse_paren() {
    const Token& at = next();
    if (accept_op(")")) return make<Expr>(Expr::Kind::tuple, at);
    ExprPtr first = parse_expression();
    if (accept_op(")")) return first;
    auto tuple = make<Expr>(Expr::Kind::tuple, at);
    tuple->items.push_back(std::move(first));
    while (accept_op(",")) {
      if (at_op(")")) break;
      tuple->items.push_back(parse_expression());
    }
    expect_op(")");
    return tuple;
  }

  ExprPtr parse_list() {
    auto list = make<Expr>(Expr::Kind::list, next());
    while (!at_op("]")) {
      list->items.push_back(parse_expression());
      if (!accept_op(",")) break;
    }
    expect_op("]");
    return list;
  }

  ExprPtr parse_dict() {
    auto dict = make<Expr>(Expr::Kind::dict, next());
    while (!at_op("}")) {
      dict->items.push_back(parse_expression());
      expect_op(":");
      dict->items.push_back(parse_expression());
      if (!accept_op(",")) break;
    }
    expect_op("}");
    return dict;
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      const Token& at = peek();
      if (at_op(".")) {
        next();
        const Token& member = peek();
        if (member.kind == TokenKind::integer) {  // x.0 is x[0]
          next();
          auto item = make<Expr>(Expr::Kind::item, at);
          item->items.push_back(std::move(node));
          auto index = make<Expr>(Expr::Kind::literal, member);
          index->value = Value(static_cast<std::int64_t>(std::strtoll(member.value.c_str(), nullptr, 10)));
          item->items.push_back(std::move(index));
          node = std::move(item);
          continue;
        }
        auto attr = make<Expr>(Expr::Kind::attr, at);
        attr->name = expect_name("an attribute name");
        attr->items.push_back(std::move(node));
        node = std::move(attr);
      } else if (at_op("[")) {
        next();
        node = parse_subscript(at, std::move(node));
      } else if (at_op("(")) {
        next();
        auto call = make<Expr>(Expr::Kind::call, at);
        call->items.push_back(std::move(node));
        parse_call_args(*call);
        node = std::move(call);
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(const Token& at, ExprPtr object) {
    ExprPtr start;
    if (!at_op(":")) {
      start = parse_expression();
      if (accept_op("]")) {
        auto item = make<Expr>(Expr::Kind::item, at);
        item->items.push_back(std::move(object));
        item->items.push_back(std::move(start));
        return item;
      }
    }
    auto slice = make<Expr>(Expr::Kind::slice, at);
    slice->items.push_back(std::move(object));
    slice->items.push_back(std::move(start));
    expect_op(":");
    slice->items.push_back(at_op(":") || at_op("]") ? nullptr : parse_expression());
    ExprPtr step;
    if (accept_op(":") && !at_op("]")) step = parse_expression();
    slice->items.push_back(std::move(step));
    expect_op("]");
    return slice;
  }

  // Arguments after '(' up to and including ')': positional ones into items, name=value ones
  // into keywords.
  void parse_call_args(Expr& call) {
    while (!at_op(")")) {
      if (peek().kind == TokenKind::name && at_op("=", 1)) {
        std::string key = next().value;
        next();
        call.keywords.emplace_back(std::move(key), parse_expression());
      } else {
        if (!call.keywords.empty()) fail(peek(), "positional argument after keyword argument");
        call.items.push_back(parse_expression());
      }
      if (!accept_op(",")) break;
    }
    expect_op(")");
  }

  // Each filter, test or call nests the expression one level deeper (evaluated recursively).
  ExprPtr parse_filters(ExprPtr node) {
    for (int links = 0;; ++links) {
      const Token& at = peek();
      if (links > kMaxNesting) fail(at, "filter chain too long");
      if (accept_op("|")) {
        auto filter = make<Expr>(Expr::Kind::filter, at);
        filter->name = expect_name("a filter name");
        filter->items.push_back(std::move(node));
        if (accept_op("(")) parse_call_args(*filter);
        node = std::move(filter);
      } else if (at_name("is")) {
        next();
        auto test = make<Expr>(Expr::Kind::test, at);
        test->negated = accept_name("not");
        test->name = expect_name("a test name");
        test->items.push_back(std::move(node));
        if (accept_op("(")) {
          parse_call_args(*test);
        } else if (takes_bare_test_argument()) {
          test->items.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(test);
      } else if (at_op("(")) {
        next();
        auto call = make<Expr>(Expr::Kind::call, at);
        call->items.push_back(std::move(node));
        parse_call_args(*call);
        node = std::move(call);
      } else {
        return node;
      }
    }
  }

  // `x is divisibleby 3`, `x is sameas none`: Jinja lets one argument follow a test unbracketed.
  bool takes_bare_test_argument() const {
    const Token& t = peek();
    if (t.kind == TokenKind::string || t.kind == TokenKind::integer || t.kind == TokenKind::floating) return true;
    if (t.kind == TokenKind::name) {
      return t.value != "else" && t.value != "or" && t.value != "and" && t.value != "if" && t.value != "in" &&
             t.value != "not" && t.value != "is";
    }
    return at_op("[") || at_op("{");
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source) { return Parser(tokenize(source)).parse_all(); }

}  // namespace slim::chat
