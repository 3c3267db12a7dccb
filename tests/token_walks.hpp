// Seeded random walks through a TokenMatcher's masks: every walk must end in a complete text
// (no dead end), accepted by a fresh byte matcher. Shared by the grammar and tool-call tests.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "slim/grammar.hpp"
#include "slim/tokenizer.hpp"

namespace slim::test {

inline bool bit(std::span<const uint64_t> mask, int32_t id) { return (mask[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1; }

// Walks `walks` seeded random paths through the masks; each must reach a complete text and
// end with end-of-sequence, and the text must be accepted by a fresh byte matcher.
inline void random_walks(const slim::Grammar& g, const slim::Tokenizer& tok, int walks, int max_steps,
                  const std::function<void(const std::string&)>& check_text) {
  const int32_t eos = tok.eos_id().value_or(0);
  slim::TokenMatcher tm(g, tok, {eos});
  // Tokens that close things, preferred once a walk is long, so that every walk ends.
  std::vector<int32_t> closers;
  const std::vector<std::string> order = {"\"", "}", "]", ",", ":", "null", "false", "0", "a"};
  std::vector<int32_t> by_order(order.size(), -1);
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    if (tok.is_special(id) || id == eos) continue;
    const std::string b = tok.token_bytes(id);
    for (size_t k = 0; k < order.size(); ++k) {
      if (b == order[k] && by_order[k] < 0) by_order[k] = id;
    }
  }
  for (const int32_t id : by_order) {
    if (id >= 0) closers.push_back(id);
  }
  std::vector<int32_t> allowed;
  for (int w = 0; w < walks; ++w) {
    std::mt19937 rng(static_cast<uint32_t>(w));
    std::string text;
    int steps = 0;
    for (;; ++steps) {
      const auto mask = tm.mask();
      allowed.clear();
      for (size_t w = 0; w < mask.size(); ++w) {
        for (uint64_t bits = mask[w]; bits; bits &= bits - 1) {
          allowed.push_back(static_cast<int32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits))));
        }
      }
      if (allowed.empty()) FAIL("dead end after " << text);
      // Past max_steps, prefer ending (EOS, or short tokens that close the text) to stay bounded.
      int32_t pick = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
      if (steps > max_steps) {
        for (const int32_t c : closers) {
          if (bit(mask, c)) {
            pick = c;
            break;
          }
        }
        if (bit(mask, eos)) pick = eos;
      }
      if (pick == eos) {
        if (!tm.is_complete()) FAIL("end-of-sequence allowed in an incomplete text: " << text);
        break;
      }
      if (!tm.accept_token(pick)) FAIL("a token of the mask is refused after " << text);
      text += tok.token_bytes(pick);
      if (steps > max_steps * 20) FAIL("walk does not end: " << text);
    }
    tm.rollback(static_cast<size_t>(steps));
    slim::GrammarMatcher m(g);
    INFO("text: " << text);
    if (!(m.accept(text) && m.is_complete())) FAIL("the byte matcher refuses " << text);
    check_text(text);
  }
}

}  // namespace slim::test
