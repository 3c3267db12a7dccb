// UTF-8 helpers: stepping over code points, WHATWG-style repair of ill-formed bytes (one U+FFFD per
// maximal subpart, as TextDecoder and Rust's from_utf8_lossy do), and detection of an incomplete
// trailing sequence for streaming.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace slim::tok {

struct Utf8Step {
  size_t length;      // bytes consumed: a whole character, or the maximal ill-formed subpart (>= 1)
  char32_t cp;        // the code point when valid
  bool valid;
  bool truncated;     // ill-formed only because the input ended in the middle of a character
};

// Decodes the character starting at s[i] (i < s.size()).
Utf8Step utf8_step(std::string_view s, size_t i);

void append_utf8(std::string& out, char32_t cp);

bool is_valid_utf8(std::string_view s);

// `s` with every ill-formed subpart replaced by U+FFFD.
std::string repair_utf8(std::string_view s);
void append_repaired_utf8(std::string& out, std::string_view s);

// Number of trailing bytes of `s` that begin a character the input ended in the middle of (0-3).
size_t incomplete_utf8_tail(std::string_view s);

}  // namespace slim::tok
