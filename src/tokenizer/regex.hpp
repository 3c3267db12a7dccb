// Regex: a PCRE2 pattern compiled with UTF and UCP (so \p{L}, \s, \w and case folding follow
// Unicode, as Oniguruma does for Hugging Face) and JIT-compiled when the platform allows. Subjects
// may hold ill-formed UTF-8: those bytes never match (PCRE2_MATCH_INVALID_UTF).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slim::tok {

class Regex {
 public:
  // `what` names the pattern's owner in error messages, e.g. "pre_tokenizer Split".
  Regex(std::string_view pattern, std::string_view what);
  // Matches `literal` exactly (searched as a plain string, without PCRE2).
  static Regex literal(std::string_view literal, std::string_view what);
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // [start, end) of every non-empty match, left to right, non-overlapping.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  struct Code;
  Regex() = default;
  Code* code_ = nullptr;  // null for a literal
  std::string literal_;
  std::string what_;
};

}  // namespace slim::tok
