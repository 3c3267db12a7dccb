#include "tokenizer/cleanup.hpp"

#include <array>
#include <utility>

namespace slim::tok {
namespace {

// In order, each applied to the whole text (JavaScript's replaceAll / Python's str.replace).
constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kRules = {{
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
    {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
}};

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  size_t pos = text.find(from);
  if (pos == std::string::npos) return;
  std::string out;
  size_t last = 0;
  for (; pos != std::string::npos; pos = text.find(from, last)) {
    out.append(text, last, pos - last);
    out += to;
    last = pos + from.size();
  }
  out.append(text, last);
  text = std::move(out);
}

}  // namespace

std::string clean_up_tokenization(std::string_view text) {
  std::string out(text);
  for (const auto& [from, to] : kRules) replace_all(out, from, to);
  return out;
}

// Every pattern is at most 4 bytes and starts with a space, and the rules only ever delete
// spaces. So a cut with no space among the 3 bytes before it is never crossed by a match, at any
// stage, and the text on either side cleans up independently.
std::string StreamingCleanup::feed(std::string_view text, bool final) {
  held_ += text;
  size_t cut = held_.size();
  if (!final) {
    const std::string joined = context_ + held_;
    const size_t offset = context_.size();
    auto safe = [&](size_t c) {  // c indexes held_
      const size_t end = offset + c;
      for (size_t k = end >= 3 ? end - 3 : 0; k < end; ++k) {
        if (joined[k] == ' ') return false;
      }
      return true;
    };
    while (cut > 0 && !safe(cut)) --cut;
  }
  std::string out = clean_up_tokenization(std::string_view(held_).substr(0, cut));
  const std::string before = context_ + held_.substr(0, cut);
  context_ = before.substr(before.size() > 3 ? before.size() - 3 : 0);
  held_.erase(0, cut);
  if (final) context_.clear();
  return out;
}

}  // namespace slim::tok
