#include "grammar/builder.hpp"

#include <algorithm>
#include <functional>

#include "slim/error.hpp"

namespace slim::grammar {
namespace {

constexpr size_t kMaxElements = size_t{1} << 20;  // a bound on {m,n} expansions and huge inputs
constexpr char32_t kMaxCodepoint = 0x10FFFF;

using ByteRanges = std::vector<std::pair<uint8_t, uint8_t>>;

int utf8_encode(char32_t cp, uint8_t* b) {
  if (cp < 0x80) return b[0] = static_cast<uint8_t>(cp), 1;
  if (cp < 0x800) {
    b[0] = static_cast<uint8_t>(0xC0 | (cp >> 6)), b[1] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    b[0] = static_cast<uint8_t>(0xE0 | (cp >> 12)), b[1] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
    b[2] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 3;
  }
  b[0] = static_cast<uint8_t>(0xF0 | (cp >> 18)), b[1] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F));
  b[2] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)), b[3] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
  return 4;
}

// Splits [lo, hi] into ranges whose UTF-8 encodings are ranges byte by byte (the algorithm of
// RE2 and Rust's regex-syntax Utf8Sequences), skipping the surrogates.
void utf8_sequences(char32_t lo, char32_t hi, std::vector<ByteRanges>& out) {
  if (lo <= 0xDFFF && hi >= 0xD800) {
    if (lo < 0xD800) utf8_sequences(lo, 0xD7FF, out);
    if (hi > 0xDFFF) utf8_sequences(0xE000, hi, out);
    return;
  }
  for (const char32_t m : {char32_t{0x7F}, char32_t{0x7FF}, char32_t{0xFFFF}}) {
    if (lo <= m && hi > m) {
      utf8_sequences(lo, m, out);
      utf8_sequences(m + 1, hi, out);
      return;
    }
  }
  for (int i = 1; i < 4; ++i) {
    const char32_t m = (char32_t{1} << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        utf8_sequences(lo, lo | m, out);
        utf8_sequences((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        utf8_sequences(lo, (hi & ~m) - 1, out);
        utf8_sequences(hi & ~m, hi, out);
        return;
      }
    }
  }
  uint8_t a[4], b[4];
  const int n = utf8_encode(lo, a);
  utf8_encode(hi, b);
  ByteRanges seq;
  for (int i = 0; i < n; ++i) seq.emplace_back(a[i], b[i]);
  out.push_back(std::move(seq));
}

void set_bit(Rules::ByteSet& s, unsigned b) { s[b >> 6] |= uint64_t{1} << (b & 63); }

}  // namespace

void append_utf8(std::string& out, char32_t cp) {
  uint8_t b[4];
  const int n = utf8_encode(cp, b);
  out.append(reinterpret_cast<const char*>(b), static_cast<size_t>(n));
}

uint32_t RuleBuilder::rule_id(std::string_view name) {
  if (const auto it = ids_.find(name); it != ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(bodies_.size());
  ids_.emplace(std::string(name), id);
  rules_.names.emplace_back(name);
  bodies_.emplace_back();
  defined_.push_back(false);
  return id;
}

uint32_t RuleBuilder::fresh_rule(std::string_view hint) {
  for (size_t n = bodies_.size();; ++n) {
    const std::string name = std::string(hint) + "-" + std::to_string(n);
    if (!ids_.count(name)) return rule_id(name);
  }
}

void RuleBuilder::count(size_t n) {
  elements_ += n;
  if (elements_ > kMaxElements) {
    throw Error(ErrorCode::limit_exceeded, "grammar has more than " + std::to_string(kMaxElements) + " elements");
  }
}

void RuleBuilder::define(uint32_t id, std::vector<Seq> alternatives) {
  for (const Seq& s : alternatives) count(s.size() + 1);
  bodies_[id] = std::move(alternatives);
  defined_[id] = true;
}

Elem RuleBuilder::byte_set(const Rules::ByteSet& set) {
  auto [it, added] = set_ids_.emplace(set, static_cast<uint32_t>(rules_.sets.size()));
  if (added) rules_.sets.push_back(set);
  return {Rules::bytes, it->second};
}

void RuleBuilder::append_codepoint(Seq& seq, char32_t cp) {
  uint8_t b[4];
  const int n = utf8_encode(cp, b);
  for (int i = 0; i < n; ++i) {
    Rules::ByteSet s{};
    set_bit(s, b[i]);
    seq.push_back(byte_set(s));
  }
}

Elem RuleBuilder::char_class(Ranges ranges, bool negated) {
  for (auto& [lo, hi] : ranges) {
    if (lo > hi) std::swap(lo, hi);
    hi = std::min(hi, kMaxCodepoint);
  }
  std::sort(ranges.begin(), ranges.end());
  Ranges merged;
  for (const auto& r : ranges) {
    if (r.first > kMaxCodepoint) continue;
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  if (negated) {
    Ranges complement;
    char32_t next = 0;
    for (const auto& [lo, hi] : merged) {
      if (lo > next) complement.emplace_back(next, lo - 1);
      next = hi + 1;
    }
    if (next <= kMaxCodepoint) complement.emplace_back(next, kMaxCodepoint);
    merged = std::move(complement);
  }
  Rules::ByteSet ascii{};
  std::vector<ByteRanges> multi;
  for (const auto& [lo, hi] : merged) {
    for (char32_t c = lo; c <= std::min<char32_t>(hi, 0x7F); ++c) set_bit(ascii, c);
    if (hi >= 0x80) utf8_sequences(std::max<char32_t>(lo, 0x80), hi, multi);
  }
  if (multi.empty()) return byte_set(ascii);
  const auto key = std::make_pair(merged, false);
  if (const auto it = class_rules_.find(key); it != class_rules_.end()) return {Rules::rule, it->second};
  std::vector<Seq> alts;
  if (ascii != Rules::ByteSet{}) alts.push_back({byte_set(ascii)});
  for (const ByteRanges& seq : multi) {
    Seq s;
    for (const auto& [lo, hi] : seq) {
      Rules::ByteSet set{};
      for (unsigned b = lo; b <= hi; ++b) set_bit(set, b);
      s.push_back(byte_set(set));
    }
    alts.push_back(std::move(s));
  }
  const uint32_t id = fresh_rule("char");
  define(id, std::move(alts));
  class_rules_.emplace(key, id);
  return {Rules::rule, id};
}

void RuleBuilder::append_repeat(Seq& seq, const Seq& item, int min, int max) {
  if (min < 0 || (max >= 0 && max < min)) {
    throw Error(ErrorCode::invalid_format, "grammar repetition {" + std::to_string(min) + "," + std::to_string(max) + "} is empty");
  }
  for (int i = 0; i < min; ++i) {
    count(item.size());
    seq.insert(seq.end(), item.begin(), item.end());
  }
  if (max < 0) {  // R ::= item R | (nothing): right recursion, which the matcher follows
    const uint32_t r = fresh_rule("star");
    Seq again = item;
    again.push_back({Rules::rule, r});
    define(r, {std::move(again), {}});
    seq.push_back({Rules::rule, r});
    return;
  }
  // item{0,k} as R_k ::= item R_{k-1} | (nothing), nested so that one path reads k items.
  bool have = false;
  uint32_t prev = 0;
  for (int k = 0; k < max - min; ++k) {
    const uint32_t r = fresh_rule("opt");
    Seq one = item;
    if (have) one.push_back({Rules::rule, prev});
    define(r, {std::move(one), {}});
    prev = r, have = true;
  }
  if (have) seq.push_back({Rules::rule, prev});
}

Rules RuleBuilder::finish(std::string_view root, std::string source) {
  const auto it = ids_.find(root);
  if (it == ids_.end() || !defined_[it->second]) {
    throw Error(ErrorCode::invalid_format, "grammar has no rule '" + std::string(root) + "'");
  }
  const size_t n = bodies_.size();
  for (size_t r = 0; r < n; ++r) {
    if (!defined_[r]) throw Error(ErrorCode::invalid_format, "grammar rule '" + rules_.names[r] + "' is used but not defined");
  }
  // Nullable rules (can match nothing), to the fixed point.
  std::vector<bool> nullable(n, false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < n; ++r) {
      if (nullable[r]) continue;
      for (const Seq& alt : bodies_[r]) {
        const bool all = std::all_of(alt.begin(), alt.end(),
                                     [&](const Elem& e) { return e.op == Rules::rule && nullable[e.arg]; });
        if (all) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  // A rule that reaches itself before any byte would make the matcher's expansion loop forever.
  std::vector<std::vector<uint32_t>> left(n);
  for (size_t r = 0; r < n; ++r) {
    for (const Seq& alt : bodies_[r]) {
      for (const Elem& e : alt) {
        if (e.op != Rules::rule) break;
        left[r].push_back(e.arg);
        if (!nullable[e.arg]) break;
      }
    }
  }
  std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the path, 2 done
  std::vector<std::pair<uint32_t, size_t>> path;
  for (uint32_t start = 0; start < n; ++start) {
    if (color[start]) continue;
    path.emplace_back(start, 0);
    color[start] = 1;
    while (!path.empty()) {  // iterative DFS: deep grammars must not overflow the C++ stack
      auto& [r, i] = path.back();
      if (i == left[r].size()) {
        color[r] = 2;
        path.pop_back();
        continue;
      }
      const uint32_t next = left[r][i++];
      if (color[next] == 1) {
        throw Error(ErrorCode::invalid_format, "grammar rule '" + rules_.names[next] +
                                                   "' is left-recursive (it can reach itself without reading a byte)");
      }
      if (color[next] == 0) {
        color[next] = 1;
        path.emplace_back(next, 0);
      }
    }
  }
  rules_.alts.assign(n, {});
  for (size_t r = 0; r < n; ++r) {
    for (const Seq& alt : bodies_[r]) {
      rules_.alts[r].push_back(static_cast<uint32_t>(rules_.elems.size()));
      rules_.elems.insert(rules_.elems.end(), alt.begin(), alt.end());
      rules_.elems.push_back({Rules::end, 0});
    }
  }
  rules_.root = it->second;
  rules_.gbnf = std::move(source);
  return std::move(rules_);
}

}  // namespace slim::grammar
