// Vocab: token string <-> id, strings kept in one arena and found through an open-addressing table
// (loading 256k-token vocabularies fast matters: see benchmarks/bench_tokenizer.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slim::tok {

class Vocab {
 public:
  // Adds (or re-points) `token` to `id`. Call build() once all tokens are added.
  void add(std::string_view token, int32_t id);
  void build();

  int32_t find(std::string_view token) const;  // -1 when absent
  // The same split in two, so that bulk lookups can prefetch: hash, prefetch, then find.
  static uint64_t hash(std::string_view token);
  void prefetch(uint64_t hash) const { __builtin_prefetch(&table_[hash & mask_]); }
  int32_t find(std::string_view token, uint64_t hash) const;
  std::string_view token(int32_t id) const;     // "" for an id no token uses; id must be < size()
  bool has_id(int32_t id) const { return id >= 0 && id < size() && spans_[id].length != kNone; }
  int32_t size() const { return static_cast<int32_t>(spans_.size()); }  // max id + 1

 private:
  struct Span {
    uint32_t offset = 0;
    uint32_t length = kNone;
  };
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  std::string arena_;
  std::vector<Span> spans_;     // by id
  struct Slot {
    int32_t id = -1;   // -1 = empty
    uint32_t tag = 0;  // high bits of the hash: most mismatches never touch the string
  };
  std::vector<Slot> table_;
  uint64_t mask_ = 0;
};

}  // namespace slim::tok
