#include "tokenizer/added_tokens.hpp"

#include <algorithm>

#include "tokenizer/unicode.hpp"
#include "tokenizer/utf8.hpp"

namespace slim::tok {

AddedTokenMatcher::AddedTokenMatcher() : nodes_(1) { root_children_.fill(-1); }

int32_t AddedTokenMatcher::child(int32_t node, unsigned char byte) const {
  if (node == 0) return root_children_[byte];
  const auto& children = nodes_[node].children;
  const auto it = std::lower_bound(children.begin(), children.end(), byte,
                                   [](const auto& c, unsigned char b) { return c.first < b; });
  return it != children.end() && it->first == byte ? it->second : -1;
}

void AddedTokenMatcher::add(std::string_view content, const AddedToken* token) {
  if (content.empty()) return;
  int32_t node = 0;
  for (const char c : content) {
    const unsigned char byte = static_cast<unsigned char>(c);
    int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();
      if (node == 0) {
        root_children_[byte] = next;
      } else {
        auto& children = nodes_[node].children;
        const auto it = std::lower_bound(children.begin(), children.end(), byte,
                                         [](const auto& ch, unsigned char b) { return ch.first < b; });
        children.insert(it, {byte, next});
      }
    }
    node = next;
  }
  nodes_[node].token = token;  // a later token with the same content wins
}

bool AddedTokenMatcher::allowed(const AddedToken& token, std::string_view text, size_t begin,
                                size_t end, bool match_special) const {
  if (token.special && !match_special) return false;
  if (!token.single_word) return true;
  // single_word: the characters around the match must not be word characters.
  if (end < text.size()) {
    const Utf8Step after = utf8_step(text, end);
    if (after.valid && is_word_char(after.cp)) return false;
  }
  if (begin > 0) {
    size_t start = begin - 1;
    while (start > 0 && begin - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
      --start;
    }
    const Utf8Step before = utf8_step(text, start);
    if (before.valid && start + before.length == begin && is_word_char(before.cp)) return false;
  }
  return true;
}

void AddedTokenMatcher::split(std::string_view text, bool match_special,
                              std::vector<Section>& out) const {
  const size_t first_section = out.size();
  size_t start = 0;  // start of the pending text section
  size_t i = 0;
  while (i < text.size()) {
    int32_t node = root_children_[static_cast<unsigned char>(text[i])];
    const AddedToken* best = nullptr;
    size_t best_end = 0;
    for (size_t j = i + 1; node >= 0; ++j) {
      const AddedToken* t = nodes_[node].token;
      if (t && allowed(*t, text, i, j, match_special)) best = t, best_end = j;
      if (j >= text.size()) break;
      node = child(node, static_cast<unsigned char>(text[j]));
    }
    if (!best) {
      ++i;
      continue;
    }
    if (i > start) out.push_back({text.substr(start, i - start), nullptr});
    out.push_back({text.substr(i, best_end - i), best});
    i = start = best_end;
  }
  if (start < text.size()) out.push_back({text.substr(start), nullptr});

  for (size_t k = first_section; k < out.size(); ++k) {
    const AddedToken* t = out[k].token;
    if (!t) continue;
    if (t->lstrip && k > first_section && !out[k - 1].token) out[k - 1].text = trim_end(out[k - 1].text);
    if (t->rstrip && k + 1 < out.size() && !out[k + 1].token) out[k + 1].text = trim_start(out[k + 1].text);
  }
}

}  // namespace slim::tok
