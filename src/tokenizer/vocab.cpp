#include "tokenizer/vocab.hpp"

#include "slim/error.hpp"
#include "tokenizer/hash.hpp"

namespace slim::tok {

void Vocab::add(std::string_view token, int32_t id) {
  if (id < 0) throw Error(ErrorCode::invalid_format, "tokenizer.json: negative token id for '" +
                                                         std::string(token) + "'");
  if (id >= (1 << 28)) throw Error(ErrorCode::limit_exceeded, "tokenizer.json: token id " +
                                                                  std::to_string(id) + " too large");
  if (static_cast<size_t>(id) >= spans_.size()) spans_.resize(static_cast<size_t>(id) + 1);
  spans_[id] = {static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(token.size())};
  arena_.append(token);
}

void Vocab::build() {
  const uint64_t capacity = next_pow2(spans_.size() * 2 + 1);
  table_.assign(capacity, -1);
  mask_ = capacity - 1;
  for (int32_t id = 0; id < size(); ++id) {
    if (spans_[id].length == kNone) continue;
    const std::string_view t = token(id);
    uint64_t slot = hash_bytes(t) & mask_;
    while (table_[slot] >= 0) {
      if (token(table_[slot]) == t) break;  // duplicate string: the later id wins, as in HF
      slot = (slot + 1) & mask_;
    }
    table_[slot] = id;
  }
}

int32_t Vocab::find(std::string_view t) const {
  if (table_.empty()) return -1;
  uint64_t slot = hash_bytes(t) & mask_;
  while (table_[slot] >= 0) {
    if (token(table_[slot]) == t) return table_[slot];
    slot = (slot + 1) & mask_;
  }
  return -1;
}

std::string_view Vocab::token(int32_t id) const {
  const Span s = spans_[id];
  if (s.length == kNone) return {};
  return std::string_view(arena_).substr(s.offset, s.length);
}

}  // namespace slim::tok
