// GPT-2's byte-level alphabet: every byte maps to one printable character, so byte-level BPE
// vocabularies hold only printable strings (bytes_to_unicode in openai/gpt-2's encoder.py).
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace slim::tok {

// The UTF-8 text of the character standing for each byte.
const std::array<std::string, 256>& byte_level_chars();

// The byte a character stands for, or -1 when it is not in the alphabet.
int byte_level_byte(char32_t cp);

// Appends the byte-level characters of `bytes` to `out`.
void append_byte_level(std::string& out, std::string_view bytes);

}  // namespace slim::tok
