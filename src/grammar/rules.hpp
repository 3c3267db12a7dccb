// Grammar::Rules: a grammar compiled to rules over bytes. Each rule is a list of alternatives; an
// alternative is a run of elements in `elems` ended by an `end` element. A terminal is a set of
// bytes: character classes over code points are compiled to UTF-8 byte sequences, so matching,
// and walking a vocabulary trie, needs no UTF-8 decoding.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "slim/grammar.hpp"

namespace slim {

struct Grammar::Rules {
  enum Op : uint8_t { end, bytes, rule };
  struct Elem {
    Op op = end;
    uint32_t arg = 0;  // bytes: index into sets; rule: rule id
  };
  using ByteSet = std::array<uint64_t, 4>;

  std::vector<Elem> elems;
  std::vector<std::vector<uint32_t>> alts;  // by rule id: where each alternative starts in elems
  std::vector<ByteSet> sets;
  std::vector<std::string> names;           // by rule id
  uint32_t root = 0;
  std::string gbnf;                         // the source, or what a regex or schema compiled to

  bool has(uint32_t set, uint8_t b) const { return (sets[set][b >> 6] >> (b & 63)) & 1; }
};

}  // namespace slim
