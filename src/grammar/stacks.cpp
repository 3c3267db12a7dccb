#include "grammar/stacks.hpp"

#include <algorithm>

#include "slim/error.hpp"

namespace slim::grammar {

using Rules = Grammar::Rules;

Stacks::Stacks(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {
  nodes_.push_back({0, 0, 0});  // kEmptyStack
  for (const uint32_t alt : rules_->alts[rules_->root]) {
    if (rules_->elems[alt].op == Rules::end) initial_.push_back(kEmptyStack);
    else expand(push(kEmptyStack, alt), initial_);
  }
  std::sort(initial_.begin(), initial_.end());
  initial_.erase(std::unique(initial_.begin(), initial_.end()), initial_.end());
}

uint32_t Stacks::push(uint32_t parent, uint32_t pos) {
  if (parent == kTooDeep) return kTooDeep;
  const uint64_t key = (uint64_t{pos} << 32) | parent;
  if (const auto it = ids_.find(key); it != ids_.end()) return it->second;
  const uint32_t depth = nodes_[parent].depth + 1;
  // Deeper stacks are dropped: nesting stays bounded whatever the grammar and the text.
  if (depth > kMaxStackDepth) return kTooDeep;
  const auto id = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back({pos, parent, depth});
  ids_.emplace(key, id);
  return id;
}

void Stacks::expand(uint32_t stack, std::vector<uint32_t>& out) {
  // An explicit work list (a grammar's chain of rules may be long) and a seen list: the same
  // stack reached twice is expanded once.
  work_.assign(1, stack);
  seen_.clear();
  while (!work_.empty()) {
    const uint32_t s = work_.back();
    work_.pop_back();
    if (s == kTooDeep || std::find(seen_.begin(), seen_.end(), s) != seen_.end()) continue;
    seen_.push_back(s);
    if (s == kEmptyStack || rules_->elems[nodes_[s].pos].op == Rules::bytes) {
      out.push_back(s);
      if (out.size() > kMaxStacks) {
        throw Error(ErrorCode::limit_exceeded, "grammar is too ambiguous: more than " +
                                                   std::to_string(kMaxStacks) + " parses at once");
      }
      continue;
    }
    const Node n = nodes_[s];
    const uint32_t rule = rules_->elems[n.pos].arg;
    const uint32_t cont = rules_->elems[n.pos + 1].op == Rules::end ? n.parent : push(n.parent, n.pos + 1);
    for (const uint32_t alt : rules_->alts[rule]) {
      work_.push_back(rules_->elems[alt].op == Rules::end ? cont : push(cont, alt));
    }
  }
}

std::span<const uint32_t> Stacks::step(uint32_t stack, uint8_t b) {
  if (!can_read(stack, b)) return {};
  const uint64_t key = (uint64_t{stack} << 8) | b;
  if (const auto it = steps_.find(key); it != steps_.end()) {
    return {step_results_.data() + it->second.first, it->second.second};
  }
  const Node n = nodes_[stack];
  const uint32_t next = rules_->elems[n.pos + 1].op == Rules::end ? n.parent : push(n.parent, n.pos + 1);
  out_.clear();
  expand(next, out_);
  std::sort(out_.begin(), out_.end());
  out_.erase(std::unique(out_.begin(), out_.end()), out_.end());
  const auto offset = static_cast<uint32_t>(step_results_.size());
  step_results_.insert(step_results_.end(), out_.begin(), out_.end());
  steps_.emplace(key, std::make_pair(offset, static_cast<uint32_t>(out_.size())));
  return {step_results_.data() + offset, out_.size()};
}

void Stacks::step_all(std::span<const uint32_t> from, uint8_t b, std::vector<uint32_t>& next) {
  next.clear();
  for (const uint32_t s : from) {
    if (!can_read(s, b)) continue;
    const auto r = step(s, b);
    next.insert(next.end(), r.begin(), r.end());
  }
  if (next.size() > 1) {
    std::sort(next.begin(), next.end());
    next.erase(std::unique(next.begin(), next.end()), next.end());
  }
  if (next.size() > kMaxStacks) {
    throw Error(ErrorCode::limit_exceeded, "grammar is too ambiguous: more than " +
                                               std::to_string(kMaxStacks) + " parses at once");
  }
}

}  // namespace slim::grammar
