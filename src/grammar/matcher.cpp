// GrammarMatcher: a state (a set of stacks) and the states before each accept(), for rollback.
#include <algorithm>

#include "grammar/stacks.hpp"
#include "slim/error.hpp"
#include "slim/grammar.hpp"

namespace slim {

struct GrammarMatcher::State {
  // Copies share the stack table (it only grows; equal stacks keep their ids).
  std::shared_ptr<grammar::Stacks> stacks;
  std::vector<uint32_t> current;
  std::vector<std::pair<std::vector<uint32_t>, size_t>> history;  // state and bytes before each accept
  size_t bytes = 0;
  std::vector<uint32_t> next;
};

GrammarMatcher::GrammarMatcher(const Grammar& grammar) : state_(std::make_unique<State>()) {
  state_->stacks = std::make_shared<grammar::Stacks>(grammar.rules_ptr());
  state_->current = state_->stacks->initial();
}

GrammarMatcher::GrammarMatcher(const GrammarMatcher& o) : state_(std::make_unique<State>(*o.state_)) {}
GrammarMatcher& GrammarMatcher::operator=(const GrammarMatcher& o) {
  if (this != &o) state_ = std::make_unique<State>(*o.state_);
  return *this;
}
GrammarMatcher::GrammarMatcher(GrammarMatcher&&) noexcept = default;
GrammarMatcher& GrammarMatcher::operator=(GrammarMatcher&&) noexcept = default;
GrammarMatcher::~GrammarMatcher() = default;

bool GrammarMatcher::accept(std::string_view bytes) {
  State& s = *state_;
  std::vector<uint32_t> cur = s.current;
  for (const char c : bytes) {
    s.stacks->step_all(cur, static_cast<uint8_t>(c), s.next);
    if (s.next.empty()) return false;
    std::swap(cur, s.next);
  }
  s.history.emplace_back(std::move(s.current), s.bytes);
  s.current = std::move(cur);
  s.bytes += bytes.size();
  return true;
}

bool GrammarMatcher::is_complete() const {
  return !state_->current.empty() && state_->current.front() == grammar::kEmptyStack;
}

bool GrammarMatcher::can_continue() const {
  return std::any_of(state_->current.begin(), state_->current.end(),
                     [](uint32_t s) { return s != grammar::kEmptyStack; });
}

size_t GrammarMatcher::bytes_accepted() const { return state_->bytes; }
size_t GrammarMatcher::accepts_count() const { return state_->history.size(); }

void GrammarMatcher::rollback(size_t n) {
  State& s = *state_;
  if (n > s.history.size()) {
    throw Error(ErrorCode::invalid_argument, "GrammarMatcher::rollback(" + std::to_string(n) + ") past the start");
  }
  if (n == 0) return;
  auto& back = s.history[s.history.size() - n];
  s.current = std::move(back.first);
  s.bytes = back.second;
  s.history.resize(s.history.size() - n);
}

}  // namespace slim
