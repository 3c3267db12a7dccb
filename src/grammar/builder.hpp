// RuleBuilder: builds Grammar::Rules from sequences of elements; the GBNF parser drives it. It
// compiles character classes to UTF-8 byte sequences and repetitions to helper rules, and
// refuses undefined rules and left recursion (which would make the matcher loop).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "grammar/rules.hpp"

namespace slim::grammar {

using Rules = Grammar::Rules;
using Elem = Rules::Elem;
using Seq = std::vector<Elem>;

// Inclusive code point ranges.
using Ranges = std::vector<std::pair<char32_t, char32_t>>;

class RuleBuilder {
 public:
  // The id of the rule called `name`, created (undefined) on first use.
  uint32_t rule_id(std::string_view name);
  // A new helper rule, named after `hint`.
  uint32_t fresh_rule(std::string_view hint);
  bool defined(uint32_t id) const { return defined_[id]; }
  void define(uint32_t id, std::vector<Seq> alternatives);

  void append_codepoint(Seq& seq, char32_t cp);
  // A class of code points (surrogates are dropped); negated = every code point not in it.
  Elem char_class(Ranges ranges, bool negated);
  // item{min,max}; max < 0 = unbounded.
  void append_repeat(Seq& seq, const Seq& item, int min, int max);

  // Checks that every rule is defined and none is left-recursive; throws slim::Error naming it.
  Rules finish(std::string_view root, std::string source);

 private:
  Elem byte_set(const Rules::ByteSet& set);
  void count(size_t n);

  Rules rules_;
  std::vector<std::vector<Seq>> bodies_;
  std::vector<bool> defined_;
  std::map<std::string, uint32_t, std::less<>> ids_;
  std::map<Rules::ByteSet, uint32_t> set_ids_;
  std::map<std::pair<Ranges, bool>, uint32_t> class_rules_;
  size_t elements_ = 0;
};

void append_utf8(std::string& out, char32_t cp);

}  // namespace slim::grammar
