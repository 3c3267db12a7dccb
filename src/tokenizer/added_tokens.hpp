// Added tokens (tokenizer.json "added_tokens"): found in the text before the model runs, leftmost
// and longest first, as Hugging Face does. Tokens with normalized=false are matched in the raw
// text, the others in the normalized text (against their normalized content).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slim::tok {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool single_word = false;  // only matches when not inside a word
  bool lstrip = false;       // swallows whitespace on its left
  bool rstrip = false;       // swallows whitespace on its right
  bool normalized = true;
};

class AddedTokenMatcher {
 public:
  struct Section {
    std::string_view text;  // a stretch of text, or the matched content
    const AddedToken* token = nullptr;
  };

  AddedTokenMatcher();
  // `content` is what to look for (the normalized content for normalized tokens); `token` must
  // outlive the matcher.
  void add(std::string_view content, const AddedToken* token);
  bool empty() const { return nodes_.size() == 1; }

  // Cuts `text` into sections. Special tokens are matched only when `match_special`. lstrip /
  // rstrip trim the whitespace of the neighbouring text sections.
  void split(std::string_view text, bool match_special, std::vector<Section>& out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    const AddedToken* token = nullptr;
  };
  int32_t child(int32_t node, unsigned char byte) const;
  bool allowed(const AddedToken& token, std::string_view text, size_t begin, size_t end,
               bool match_special) const;

  std::vector<Node> nodes_;
  std::array<int32_t, 256> root_children_;
};

}  // namespace slim::tok
