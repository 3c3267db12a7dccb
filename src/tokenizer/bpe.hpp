// The BPE model (tokenizer.json "model" of type BPE): merges by rank over token ids, byte
// fallback to <0xNN> tokens, ignore_merges, unk with fuse_unk.
//
// Speed: merge ranks live in an open-addressing table keyed by the pair of ids; short words merge
// by scanning an array, long ones through a heap. A long word (SentencePiece models run BPE on a
// whole section) is first cut between two characters that no vocabulary token contains next to
// each other: no merge can cross such a cut, so the pieces merge independently and repeat often
// enough to hit the word cache.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/vocab.hpp"

namespace slim::tok {

struct TokenizerFile;

// Words already encoded, kept by the Tokenizer between encode() calls. Bounded: cleared when full.
class WordCache {
 public:
  bool find(std::string_view word, uint64_t hash, std::vector<int32_t>& out) const;
  void insert(std::string_view word, uint64_t hash, std::span<const int32_t> ids);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t hash;
    uint32_t key_offset, key_length, ids_offset, ids_length;
  };
  static constexpr size_t kMaxEntries = 1 << 16;
  std::string keys_;
  std::vector<int32_t> ids_;
  std::vector<Entry> entries_;
  std::vector<int32_t> table_;  // index into entries_, -1 = empty
};

class BpeModel {
 public:
  // `file` supplies model.vocab and model.merges (moved from).
  BpeModel(const nlohmann::json& config, TokenizerFile& file);

  void encode_word(std::string_view word, std::vector<int32_t>& out, WordCache& cache) const;
  const Vocab& vocab() const { return vocab_; }

 private:
  struct Symbol {
    int32_t id;      // -1: a character (or ill-formed byte) the vocabulary lacks
    uint32_t begin;  // byte range in the word
    uint32_t length;
  };
  struct PairSlot {
    uint64_t key;
    int32_t rank;
    int32_t merged;
  };

  int32_t char_id(char32_t cp) const {
    if (cp < 0x10000) return bmp_ids_[cp];
    const auto it = astral_ids_.find(cp);
    return it == astral_ids_.end() ? -1 : it->second;
  }
  const PairSlot* find_pair(int32_t left, int32_t right) const;
  bool may_join(uint64_t bigram) const;
  void encode_uncached(std::string_view word, std::vector<int32_t>& out, WordCache& cache) const;
  void merge_and_emit(std::string_view word, std::vector<Symbol>& symbols,
                      std::vector<int32_t>& out) const;
  void encode_chunk(std::string_view word, std::span<Symbol> symbols, std::vector<int32_t>& out,
                    WordCache& cache) const;
  void merge_linear(std::vector<Symbol>& symbols) const;
  void merge_heap(std::vector<Symbol>& symbols) const;
  void emit(std::string_view word, const std::vector<Symbol>& symbols,
            std::vector<int32_t>& out) const;

  Vocab vocab_;
  std::vector<PairSlot> pairs_;
  uint64_t pair_mask_ = 0;
  std::vector<uint64_t> bigrams_;  // set of adjacent code-point pairs inside vocabulary tokens
  uint64_t bigram_mask_ = 0;
  // The same set as a bitmap for pairs of common characters (Latin, and SentencePiece's U+2581),
  // which are most of the lookups.
  static constexpr uint32_t kSmallChars = 0x181;
  static uint32_t small_index(uint32_t c) { return c < 0x180 ? c : c == 0x2581 ? 0x180 : kSmallChars; }
  std::vector<uint64_t> small_bigrams_;
  std::vector<int32_t> bmp_ids_;   // id of each single-character token below U+10000, or -1
  std::unordered_map<char32_t, int32_t> astral_ids_;
  int32_t byte_ids_[256];
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
};

}  // namespace slim::tok
