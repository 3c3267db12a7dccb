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
  std::vector<int32_t> table_;  // ids, -1 = empty slot
  uint64_t mask_ = 0;
};

}  // namespace slim::tok
