// Stacks: the pushdown side of the matcher. A matcher state is a set of stacks, as in llama.cpp's
// grammar (llama-grammar.cpp): each stack holds the element positions still to match, its top
// always a byte set (or the stack is empty: the text may end there). Stacks are hash-consed
// nodes (position, parent), so equal stacks are equal ids: a state is a sorted list of ids, and
// each (stack, byte) transition is computed once and remembered.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "grammar/rules.hpp"

namespace slim::grammar {

constexpr uint32_t kEmptyStack = 0;      // the stack of a finished text
constexpr uint32_t kMaxStackDepth = 4096;
constexpr size_t kMaxStacks = 4096;      // a state with more is refused (an ambiguous grammar)

class Stacks {
 public:
  explicit Stacks(std::shared_ptr<const Grammar::Rules> rules);

  const Grammar::Rules& rules() const { return *rules_; }
  // The stacks of the start: root's alternatives, expanded.
  const std::vector<uint32_t>& initial() const { return initial_; }
  // The stacks after `stack` reads byte `b` (empty when it cannot). The span stays valid until
  // the next call.
  std::span<const uint32_t> step(uint32_t stack, uint8_t b);
  // Whether the top of `stack` accepts `b` (the cheap test before step()).
  bool can_read(uint32_t stack, uint8_t b) const {
    return stack != kEmptyStack && rules_->has(rules_->elems[nodes_[stack].pos].arg, b);
  }
  // `next` = the union of step(s, b) over `from`, sorted, without repeats.
  void step_all(std::span<const uint32_t> from, uint8_t b, std::vector<uint32_t>& next);
  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    uint32_t pos, parent, depth;
  };
  static constexpr uint32_t kTooDeep = 0xFFFFFFFFu;
  uint32_t push(uint32_t parent, uint32_t pos);
  // Expands `stack` (top possibly a rule) into stacks whose tops are byte sets, appended to out.
  void expand(uint32_t stack, std::vector<uint32_t>& out);

  std::shared_ptr<const Grammar::Rules> rules_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, uint32_t> ids_;  // (pos, parent) -> node
  std::unordered_map<uint64_t, std::pair<uint32_t, uint32_t>> steps_;  // (stack, byte) -> results
  std::vector<uint32_t> step_results_;
  std::vector<uint32_t> initial_;
  std::vector<uint32_t> work_, seen_, out_;
};

}  // namespace slim::grammar
