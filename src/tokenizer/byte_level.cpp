#include "tokenizer/byte_level.hpp"

#include "tokenizer/utf8.hpp"

namespace slim::tok {
namespace {

// Printable bytes (! .. ~, ¡ .. ¬, ® .. ÿ) stand for themselves; the others, in order, for
// U+0100, U+0101, ...
std::array<char32_t, 256> make_byte_to_cp() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    map[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return map;
}

const std::array<char32_t, 256>& byte_to_cp() {
  static const std::array<char32_t, 256> map = make_byte_to_cp();
  return map;
}

}  // namespace

const std::array<std::string, 256>& byte_level_chars() {
  static const std::array<std::string, 256> chars = [] {
    std::array<std::string, 256> out;
    for (int b = 0; b < 256; ++b) append_utf8(out[b], byte_to_cp()[b]);
    return out;
  }();
  return chars;
}

int byte_level_byte(char32_t cp) {
  static const std::array<int, 512> reverse = [] {
    std::array<int, 512> r;
    r.fill(-1);
    for (int b = 0; b < 256; ++b) r[byte_to_cp()[b]] = b;
    return r;
  }();
  return cp < 512 ? reverse[cp] : -1;
}

void append_byte_level(std::string& out, std::string_view bytes) {
  const auto& chars = byte_level_chars();
  for (const char c : bytes) out += chars[static_cast<unsigned char>(c)];
}

}  // namespace slim::tok
