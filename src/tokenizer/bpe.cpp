#include "tokenizer/bpe.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <queue>

#include "tokenizer/hash.hpp"
#include "tokenizer/json_util.hpp"
#include "tokenizer/tokenizer_json.hpp"
#include "tokenizer/utf8.hpp"

namespace slim::tok {
namespace {

constexpr uint64_t kEmpty = ~0ULL;
constexpr size_t kLinearMergeMax = 64;  // longer words merge through a heap
constexpr size_t kChunkFrom = 16;       // words with more characters are cut where no merge can cross
constexpr size_t kCacheMaxBytes = 64;

uint64_t pair_key(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }

// Code point of a symbol for the bigram test; ill-formed bytes get values past U+10FFFF.
uint32_t symbol_char(const Utf8Step& step, unsigned char first_byte) {
  return step.valid ? static_cast<uint32_t>(step.cp) : 0x110000u + first_byte;
}

}  // namespace

// ---- WordCache ----

bool WordCache::find(std::string_view word, uint64_t hash, std::vector<int32_t>& out) const {
  if (table_.empty()) return false;
  const uint64_t mask = table_.size() - 1;
  for (uint64_t slot = hash & mask; table_[slot] >= 0; slot = (slot + 1) & mask) {
    const Entry& e = entries_[table_[slot]];
    if (e.hash == hash && std::string_view(keys_).substr(e.key_offset, e.key_length) == word) {
      out.insert(out.end(), ids_.begin() + e.ids_offset, ids_.begin() + e.ids_offset + e.ids_length);
      return true;
    }
  }
  return false;
}

void WordCache::insert(std::string_view word, uint64_t hash, std::span<const int32_t> ids) {
  if (entries_.size() >= kMaxEntries) {
    keys_.clear(), ids_.clear(), entries_.clear();
    std::fill(table_.begin(), table_.end(), -1);
  }
  if (entries_.size() * 2 >= table_.size()) {  // grow, keeping the load under one half
    table_.assign(std::max<size_t>(64, table_.size() * 2), -1);
    const uint64_t mask = table_.size() - 1;
    for (size_t i = 0; i < entries_.size(); ++i) {
      uint64_t slot = entries_[i].hash & mask;
      while (table_[slot] >= 0) slot = (slot + 1) & mask;
      table_[slot] = static_cast<int32_t>(i);
    }
  }
  const uint64_t mask = table_.size() - 1;
  uint64_t slot = hash & mask;
  while (table_[slot] >= 0) slot = (slot + 1) & mask;
  table_[slot] = static_cast<int32_t>(entries_.size());
  entries_.push_back({hash, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(word.size()),
                      static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(ids.size())});
  keys_.append(word);
  ids_.insert(ids_.end(), ids.begin(), ids.end());
}

// ---- BpeModel: loading ----

BpeModel::BpeModel(const json& config, TokenizerFile& file) {
  const std::string what = "model BPE";
  if (!file.has_vocab) bad_field(what, "vocab", "is missing");
  vocab_ = std::move(file.model_vocab);
  vocab_.build();

  if (const json* dropout = member(config, "dropout");
      dropout && (!dropout->is_number() || dropout->get<double>() != 0.0)) {
    throw Error(ErrorCode::unsupported, "tokenizer.json: model BPE with dropout is not supported");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (!string_field(config, key, what, "").empty()) {
      throw Error(ErrorCode::unsupported,
                  std::string("tokenizer.json: model BPE with a non-empty ") + key +
                      " is not supported");
    }
  }
  if (const std::string unk = string_field(config, "unk_token", what, ""); !unk.empty()) {
    unk_id_ = vocab_.find(unk);
  }
  byte_fallback_ = bool_field(config, "byte_fallback", what, false);
  fuse_unk_ = bool_field(config, "fuse_unk", what, false);
  ignore_merges_ = bool_field(config, "ignore_merges", what, false);

  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_ids_[b] = vocab_.find(name);
  }

  // Single-character tokens, and the set of character pairs that occur inside any token.
  bmp_ids_.assign(0x10000, -1);
  size_t bigram_count = 0;
  bigrams_.assign(1 << 16, kEmpty);
  bigram_mask_ = bigrams_.size() - 1;
  small_bigrams_.assign((kSmallChars * kSmallChars + 63) / 64, 0);
  auto add_bigram = [&](uint64_t key) {
    const uint32_t a = small_index(static_cast<uint32_t>(key >> 32));
    const uint32_t b = small_index(static_cast<uint32_t>(key));
    if (a < kSmallChars && b < kSmallChars) {
      const uint32_t bit = a * kSmallChars + b;
      small_bigrams_[bit >> 6] |= uint64_t{1} << (bit & 63);
    }
    uint64_t slot = mix64(key) & bigram_mask_;
    for (; bigrams_[slot] != kEmpty; slot = (slot + 1) & bigram_mask_) {
      if (bigrams_[slot] == key) return;
    }
    bigrams_[slot] = key;
    if (++bigram_count * 2 < bigrams_.size()) return;
    std::vector<uint64_t> old(bigrams_.size() * 2, kEmpty);  // grow, keeping the load under 1/2
    old.swap(bigrams_);
    bigram_mask_ = bigrams_.size() - 1;
    for (const uint64_t k : old) {
      if (k == kEmpty) continue;
      uint64_t s = mix64(k) & bigram_mask_;
      while (bigrams_[s] != kEmpty) s = (s + 1) & bigram_mask_;
      bigrams_[s] = k;
    }
  };
  for (int32_t id = 0; id < vocab_.size(); ++id) {
    const std::string_view t = vocab_.token(id);
    uint32_t previous = 0;
    size_t count = 0;
    for (size_t i = 0; i < t.size();) {
      const Utf8Step step = utf8_step(t, i);
      const uint32_t c = symbol_char(step, static_cast<unsigned char>(t[i]));
      if (count > 0) add_bigram(pair_key(previous, c));
      previous = c, ++count, i += step.length;
    }
    if (count == 1 && previous < 0x110000) {
      if (previous < 0x10000) {
        bmp_ids_[previous] = id;
      } else {
        astral_ids_[previous] = id;
      }
    }
  }

  // Merges: rank = position in the list; a later duplicate wins, as in Hugging Face. Merges whose
  // parts or result are not tokens can never apply to ids and are left out. Lookups go in blocks
  // whose table slots are prefetched first: this loop is most of the load time.
  const RawMerges& merges = file.merges;
  pairs_.assign(next_pow2(merges.entries.size() * 3 / 2 + 1), PairSlot{kEmpty, 0, 0});
  pair_mask_ = pairs_.size() - 1;
  const std::string_view arena = merges.arena;
  constexpr size_t kBlock = 32;
  uint64_t hashes[kBlock][3];
  for (size_t block = 0; block < merges.entries.size(); block += kBlock) {
    const size_t end = std::min(merges.entries.size(), block + kBlock);
    for (size_t r = block; r < end; ++r) {
      const RawMerges::Entry& e = merges.entries[r];
      uint64_t* h = hashes[r - block];
      h[0] = Vocab::hash(arena.substr(e.offset, e.left_length));
      h[1] = Vocab::hash(arena.substr(e.offset + e.left_length, e.right_length));
      h[2] = Vocab::hash(arena.substr(e.offset, e.left_length + e.right_length));
      for (int k = 0; k < 3; ++k) vocab_.prefetch(h[k]);
    }
    uint64_t keys[kBlock];
    int32_t results[kBlock];
    for (size_t r = block; r < end; ++r) {
      const RawMerges::Entry& e = merges.entries[r];
      const uint64_t* h = hashes[r - block];
      const int32_t left = vocab_.find(arena.substr(e.offset, e.left_length), h[0]);
      const int32_t right = vocab_.find(arena.substr(e.offset + e.left_length, e.right_length), h[1]);
      const int32_t merged = vocab_.find(arena.substr(e.offset, e.left_length + e.right_length), h[2]);
      results[r - block] = merged;
      keys[r - block] = left < 0 || right < 0 || merged < 0
                            ? kEmpty
                            : pair_key(static_cast<uint32_t>(left), static_cast<uint32_t>(right));
      if (keys[r - block] != kEmpty) __builtin_prefetch(&pairs_[mix64(keys[r - block]) & pair_mask_]);
    }
    for (size_t r = block; r < end; ++r) {
      const uint64_t key = keys[r - block];
      if (key == kEmpty) continue;
      uint64_t slot = mix64(key) & pair_mask_;
      while (pairs_[slot].key != kEmpty && pairs_[slot].key != key) slot = (slot + 1) & pair_mask_;
      pairs_[slot] = {key, static_cast<int32_t>(r), results[r - block]};
    }
  }
  file.merges = RawMerges{};
}

const BpeModel::PairSlot* BpeModel::find_pair(int32_t left, int32_t right) const {
  if (left < 0 || right < 0) return nullptr;
  const uint64_t key = pair_key(static_cast<uint32_t>(left), static_cast<uint32_t>(right));
  for (uint64_t slot = mix64(key) & pair_mask_;; slot = (slot + 1) & pair_mask_) {
    if (pairs_[slot].key == key) return &pairs_[slot];
    if (pairs_[slot].key == kEmpty) return nullptr;
  }
}

bool BpeModel::may_join(uint64_t bigram) const {
  const uint32_t a = small_index(static_cast<uint32_t>(bigram >> 32));
  const uint32_t b = small_index(static_cast<uint32_t>(bigram));
  if (a < kSmallChars && b < kSmallChars) {
    const uint32_t bit = a * kSmallChars + b;
    return (small_bigrams_[bit >> 6] >> (bit & 63)) & 1;
  }
  for (uint64_t slot = mix64(bigram) & bigram_mask_;; slot = (slot + 1) & bigram_mask_) {
    if (bigrams_[slot] == bigram) return true;
    if (bigrams_[slot] == kEmpty) return false;
  }
}

// ---- BpeModel: encoding ----

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out,
                           WordCache& cache) const {
  if (word.empty()) return;
  // The cache first: it is small and hot, the vocabulary is not.
  const bool cacheable = word.size() <= kCacheMaxBytes;
  uint64_t hash = 0;
  if (cacheable) {
    hash = hash_bytes(word);
    if (cache.find(word, hash, out)) return;
  }
  const size_t first = out.size();
  encode_uncached(word, out, cache);
  if (cacheable) cache.insert(word, hash, std::span(out).subspan(first));
}

void BpeModel::encode_uncached(std::string_view word, std::vector<int32_t>& out,
                               WordCache& cache) const {
  if (ignore_merges_) {
    if (const int32_t id = vocab_.find(word); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Symbol> symbols;
  std::vector<uint32_t> chars;
  symbols.reserve(word.size());
  chars.reserve(word.size());
  for (size_t i = 0; i < word.size();) {
    const unsigned char byte = static_cast<unsigned char>(word[i]);
    if (byte < 0x80) {  // ASCII fast path
      symbols.push_back({bmp_ids_[byte], static_cast<uint32_t>(i), 1});
      chars.push_back(byte);
      ++i;
      continue;
    }
    const Utf8Step step = utf8_step(word, i);
    symbols.push_back({step.valid ? char_id(step.cp) : -1, static_cast<uint32_t>(i),
                       static_cast<uint32_t>(step.length)});
    chars.push_back(symbol_char(step, byte));
    i += step.length;
  }
  if (symbols.size() < kChunkFrom) {
    merge_and_emit(word, symbols, out);
    return;
  }
  size_t start = 0;
  for (size_t i = 1; i < symbols.size(); ++i) {
    if (!may_join(pair_key(chars[i - 1], chars[i]))) {
      encode_chunk(word, std::span(symbols).subspan(start, i - start), out, cache);
      start = i;
    }
  }
  encode_chunk(word, std::span(symbols).subspan(start), out, cache);
}

void BpeModel::encode_chunk(std::string_view word, std::span<Symbol> chunk,
                            std::vector<int32_t>& out, WordCache& cache) const {
  if (chunk.size() == 1 && chunk[0].id >= 0) {
    out.push_back(chunk[0].id);
    return;
  }
  const std::string_view text =
      word.substr(chunk.front().begin, chunk.back().begin + chunk.back().length - chunk.front().begin);
  const bool cacheable = text.size() <= kCacheMaxBytes;
  uint64_t hash = 0;
  if (cacheable) {
    hash = hash_bytes(text);
    if (cache.find(text, hash, out)) return;
  }
  const size_t first = out.size();
  std::vector<Symbol> symbols(chunk.begin(), chunk.end());
  merge_and_emit(word, symbols, out);
  if (cacheable) cache.insert(text, hash, std::span(out).subspan(first));
}

void BpeModel::merge_and_emit(std::string_view word, std::vector<Symbol>& symbols,
                              std::vector<int32_t>& out) const {
  if (symbols.size() <= kLinearMergeMax) {
    merge_linear(symbols);
  } else {
    merge_heap(symbols);
  }
  emit(word, symbols, out);
}

// Repeatedly merges the lowest-ranked adjacent pair (the leftmost among equals).
void BpeModel::merge_linear(std::vector<Symbol>& symbols) const {
  if (symbols.size() < 2) return;
  std::vector<const PairSlot*> pairs(symbols.size() - 1);
  // The first lookups are independent: prefetch them all (the table is large, they miss).
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (symbols[i].id >= 0 && symbols[i + 1].id >= 0) {
      const uint64_t key = pair_key(static_cast<uint32_t>(symbols[i].id), static_cast<uint32_t>(symbols[i + 1].id));
      __builtin_prefetch(&pairs_[mix64(key) & pair_mask_]);
    }
  }
  for (size_t i = 0; i + 1 < symbols.size(); ++i) pairs[i] = find_pair(symbols[i].id, symbols[i + 1].id);
  while (true) {
    size_t best = pairs.size();
    int32_t best_rank = INT32_MAX;
    for (size_t i = 0; i < pairs.size(); ++i) {
      if (pairs[i] && pairs[i]->rank < best_rank) best_rank = pairs[i]->rank, best = i;
    }
    if (best == pairs.size()) return;
    symbols[best].id = pairs[best]->merged;
    symbols[best].length += symbols[best + 1].length;
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    pairs.erase(pairs.begin() + static_cast<std::ptrdiff_t>(best));
    if (best > 0) pairs[best - 1] = find_pair(symbols[best - 1].id, symbols[best].id);
    if (best < pairs.size()) pairs[best] = find_pair(symbols[best].id, symbols[best + 1].id);
  }
}

// The same order of merges through a priority queue of candidate pairs, for long words.
void BpeModel::merge_heap(std::vector<Symbol>& symbols) const {
  const int32_t n = static_cast<int32_t>(symbols.size());
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  struct Candidate {
    int32_t rank, pos, left, right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (const PairSlot* p = find_pair(symbols[pos].id, symbols[next[pos]].id)) {
      queue.push({p->rank, pos, symbols[pos].id, symbols[next[pos]].id});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  std::vector<bool> alive(n, true);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    const int32_t right = next[c.pos];
    if (!alive[c.pos] || right < 0 || symbols[c.pos].id != c.left || symbols[right].id != c.right) {
      continue;  // stale: one side has merged since
    }
    symbols[c.pos].id = find_pair(c.left, c.right)->merged;
    symbols[c.pos].length += symbols[right].length;
    alive[right] = false;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    consider(prev[c.pos]);
    consider(c.pos);
  }
  size_t kept = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (alive[i]) symbols[kept++] = symbols[i];
  }
  symbols.resize(kept);
}

void BpeModel::emit(std::string_view word, const std::vector<Symbol>& symbols,
                    std::vector<int32_t>& out) const {
  bool previous_unk = false;
  for (const Symbol& s : symbols) {
    if (s.id >= 0) {
      out.push_back(s.id);
      previous_unk = false;
      continue;
    }
    const std::string_view bytes = word.substr(s.begin, s.length);
    if (byte_fallback_ && std::all_of(bytes.begin(), bytes.end(), [&](char b) {
          return byte_ids_[static_cast<unsigned char>(b)] >= 0;
        })) {
      for (const char b : bytes) out.push_back(byte_ids_[static_cast<unsigned char>(b)]);
      previous_unk = false;
      continue;
    }
    if (unk_id_ >= 0 && !(fuse_unk_ && previous_unk)) out.push_back(unk_id_);
    previous_unk = true;  // without an unk token the character is dropped
  }
}

}  // namespace slim::tok
