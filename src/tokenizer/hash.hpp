// Small hashing helpers for the tokenizer's open-addressing tables.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace slim::tok {

inline uint64_t mix64(uint64_t x) {  // the splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Hashes 8 bytes at a time; good enough for token strings, and fast.
inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = mix64(h ^ w);
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = mix64(h ^ w ^ 0xFF);
  }
  return h;
}

inline uint64_t next_pow2(uint64_t n) {
  uint64_t p = 16;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace slim::tok
