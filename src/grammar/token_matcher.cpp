// TokenVocabulary and TokenMatcher: token masks from a byte trie of the vocabulary (built once a
// tokenizer, shared) walked with the stacks (a matcher's own).
//
// The trie is laid out in preorder with each node's subtree end, so a walk is one pass over an
// array that skips a subtree as soon as no stack can read its byte. A state is a set of stacks,
// and each stack moves independently of the others, so a token is allowed in a state when some
// stack of it allows the token: the mask of a state is the OR of its stacks' masks, and a
// stack's mask is cached by its id (the stacks are hash-consed). A stack comes back often (a
// string's character loop, the same property's value), so most steps are an OR of cached
// masks (XGrammar caches per grammar position, its "context-independent tokens"; this caches per
// whole stack, simpler and exact, at the cost of a walk for each new stack).
#include <algorithm>
#include <unordered_map>

#include "grammar/stacks.hpp"
#include "slim/error.hpp"
#include "slim/grammar.hpp"
#include "slim/tokenizer.hpp"

namespace slim {

namespace {
constexpr size_t kMaxCacheBytes = size_t{64} << 20;  // the per-stack masks, dropped past this
}

struct TokenVocabulary::Impl {
  struct Node {
    uint8_t byte;
    uint32_t depth, end;            // end: one past the last node of the subtree
    uint32_t tokens_begin, tokens_end;
  };
  std::vector<Node> nodes;
  std::vector<int32_t> node_tokens;
  std::vector<std::string> bytes;  // by id; "" for special tokens and ids without bytes
  int32_t vocab = 0;
  size_t words = 0;
  size_t max_depth = 0;

  void build_trie() {
    std::vector<int32_t> ids;
    for (int32_t id = 0; id < vocab; ++id) {
      if (!bytes[static_cast<size_t>(id)].empty()) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
      return bytes[static_cast<size_t>(a)] < bytes[static_cast<size_t>(b)];
    });
    nodes.push_back({0, 0, 0, 0, 0});
    std::vector<uint32_t> path = {0};  // node of each depth on the current path
    std::string prev;
    for (const int32_t id : ids) {
      const std::string& s = bytes[static_cast<size_t>(id)];
      size_t common = 0;
      while (common < s.size() && common < prev.size() && s[common] == prev[common]) ++common;
      while (path.size() > common + 1) {
        nodes[path.back()].end = static_cast<uint32_t>(nodes.size());
        path.pop_back();
      }
      for (size_t k = common; k < s.size(); ++k) {
        path.push_back(static_cast<uint32_t>(nodes.size()));
        nodes.push_back({static_cast<uint8_t>(s[k]), static_cast<uint32_t>(k + 1), 0, 0, 0});
      }
      // Tokens sorted by bytes: ids of one node are consecutive.
      Node& leaf = nodes[path.back()];
      if (leaf.tokens_begin == leaf.tokens_end) leaf.tokens_begin = leaf.tokens_end = static_cast<uint32_t>(node_tokens.size());
      node_tokens.push_back(id);
      leaf.tokens_end = static_cast<uint32_t>(node_tokens.size());
      prev = s;
    }
    while (!path.empty()) {
      nodes[path.back()].end = static_cast<uint32_t>(nodes.size());
      path.pop_back();
    }
    for (const Node& n : nodes) max_depth = std::max<size_t>(max_depth, n.depth);
  }
};

TokenVocabulary::TokenVocabulary(const Tokenizer& tokenizer) {
  auto v = std::make_shared<Impl>();
  v->vocab = tokenizer.vocab_size();
  v->words = (static_cast<size_t>(v->vocab) + 63) / 64;
  v->bytes.resize(static_cast<size_t>(v->vocab));
  for (int32_t id = 0; id < v->vocab; ++id) {
    if (!tokenizer.is_special(id)) v->bytes[static_cast<size_t>(id)] = tokenizer.token_bytes(id);
  }
  v->build_trie();
  impl_ = std::move(v);
}

int32_t TokenVocabulary::vocab_size() const { return impl_->vocab; }

struct TokenMatcher::Impl {
  TokenVocabulary vocabulary;
  const TokenVocabulary::Impl& v;  // vocabulary's, which this keeps alive
  std::shared_ptr<grammar::Stacks> stacks;
  std::vector<int32_t> eos;
  std::unordered_map<uint32_t, std::vector<uint64_t>> cache;
  std::vector<uint64_t> out;
  std::vector<std::vector<uint32_t>> levels;
  std::vector<uint32_t> current;
  std::vector<std::vector<uint32_t>> history;

  explicit Impl(const TokenVocabulary& vocab) : vocabulary(vocab), v(vocabulary.impl()) {}

  bool is_eos(int32_t id) const { return std::find(eos.begin(), eos.end(), id) != eos.end(); }

  const std::vector<uint64_t>& stack_mask(uint32_t stack) {
    if (const auto it = cache.find(stack); it != cache.end()) return it->second;
    if (cache.size() * v.words * 8 > kMaxCacheBytes) cache.clear();
    std::vector<uint64_t> m(v.words, 0);
    levels[0].assign(1, stack);
    for (size_t i = 1; i < v.nodes.size();) {
      const auto& n = v.nodes[i];
      auto& here = levels[n.depth];
      stacks->step_all(levels[n.depth - 1], n.byte, here);
      if (here.empty()) {
        i = n.end;
        continue;
      }
      for (uint32_t t = n.tokens_begin; t < n.tokens_end; ++t) {
        const auto id = static_cast<size_t>(v.node_tokens[t]);
        m[id >> 6] |= uint64_t{1} << (id & 63);
      }
      ++i;
    }
    return cache.emplace(stack, std::move(m)).first->second;
  }

  bool complete() const { return !current.empty() && current.front() == grammar::kEmptyStack; }
};

TokenMatcher::TokenMatcher(const Grammar& grammar, const TokenVocabulary& vocabulary, std::vector<int32_t> eos_ids)
    : impl_(std::make_unique<Impl>(vocabulary)) {
  Impl& m = *impl_;
  m.stacks = std::make_shared<grammar::Stacks>(grammar.rules_ptr());
  for (const int32_t e : eos_ids) {
    if (e >= 0 && e < m.v.vocab) m.eos.push_back(e);  // an end-of-sequence id writes nothing
  }
  m.levels.resize(m.v.max_depth + 1);
  m.current = m.stacks->initial();
}

TokenMatcher::TokenMatcher(const Grammar& grammar, const Tokenizer& tokenizer, std::vector<int32_t> eos_ids)
    : TokenMatcher(grammar, TokenVocabulary(tokenizer), std::move(eos_ids)) {}

TokenMatcher::TokenMatcher(TokenMatcher&&) noexcept = default;
TokenMatcher& TokenMatcher::operator=(TokenMatcher&&) noexcept = default;
TokenMatcher::~TokenMatcher() = default;

std::span<const uint64_t> TokenMatcher::mask() {
  Impl& m = *impl_;
  m.out.assign(m.v.words, 0);
  for (const uint32_t s : m.current) {
    if (s == grammar::kEmptyStack) continue;
    const auto& sm = m.stack_mask(s);
    for (size_t w = 0; w < m.v.words; ++w) m.out[w] |= sm[w];
  }
  // End-of-sequence ids are in the shared trie when they are not special: they only end a text.
  const bool complete = m.complete();
  for (const int32_t e : m.eos) {
    const uint64_t bit = uint64_t{1} << (e & 63);
    m.out[static_cast<size_t>(e) >> 6] = complete ? m.out[static_cast<size_t>(e) >> 6] | bit : m.out[static_cast<size_t>(e) >> 6] & ~bit;
  }
  return m.out;
}

bool TokenMatcher::accept_token(int32_t id) {
  Impl& m = *impl_;
  if (m.is_eos(id)) return m.complete();
  if (id < 0 || id >= m.v.vocab || m.v.bytes[static_cast<size_t>(id)].empty()) return false;
  std::vector<uint32_t> cur = m.current, next;
  for (const char c : m.v.bytes[static_cast<size_t>(id)]) {
    m.stacks->step_all(cur, static_cast<uint8_t>(c), next);
    if (next.empty()) return false;
    std::swap(cur, next);
  }
  m.history.push_back(std::move(m.current));
  m.current = std::move(cur);
  return true;
}

bool TokenMatcher::is_complete() const { return impl_->complete(); }

bool TokenMatcher::can_continue() const {
  return std::any_of(impl_->current.begin(), impl_->current.end(),
                     [](uint32_t s) { return s != grammar::kEmptyStack; });
}

void TokenMatcher::rollback(size_t tokens) {
  Impl& m = *impl_;
  if (tokens > m.history.size()) {
    throw Error(ErrorCode::invalid_argument, "TokenMatcher::rollback(" + std::to_string(tokens) + ") past the start");
  }
  if (tokens == 0) return;
  m.current = std::move(m.history[m.history.size() - tokens]);
  m.history.resize(m.history.size() - tokens);
}

int32_t TokenMatcher::vocab_size() const { return impl_->v.vocab; }

}  // namespace slim
