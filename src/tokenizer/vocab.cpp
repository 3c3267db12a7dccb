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
  table_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (int32_t id = 0; id < size(); ++id) {
    if (spans_[id].length == kNone) continue;
    const std::string_view t = token(id);
    const uint64_t h = hash(t);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    uint64_t slot = h & mask_;
    while (table_[slot].id >= 0) {
      if (table_[slot].tag == tag && token(table_[slot].id) == t) break;  // duplicate: later id wins
      slot = (slot + 1) & mask_;
    }
    table_[slot] = {id, tag};
  }
}

uint64_t Vocab::hash(std::string_view token) { return hash_bytes(token); }

int32_t Vocab::find(std::string_view t) const { return find(t, hash(t)); }

int32_t Vocab::find(std::string_view t, uint64_t h) const {
  if (table_.empty()) return -1;
  const uint32_t tag = static_cast<uint32_t>(h >> 32);
  for (uint64_t slot = h & mask_; table_[slot].id >= 0; slot = (slot + 1) & mask_) {
    if (table_[slot].tag == tag && token(table_[slot].id) == t) return table_[slot].id;
  }
  return -1;
}

std::string_view Vocab::token(int32_t id) const {
  const Span s = spans_[id];
  if (s.length == kNone) return {};
  return std::string_view(arena_).substr(s.offset, s.length);
}

}  // namespace slim::tok
