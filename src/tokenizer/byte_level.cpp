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
  struct Encoded {
    unsigned char length;
    char text[2];  // every character of the alphabet is below U+0800: at most 2 UTF-8 bytes
  };
  static const std::array<Encoded, 256> table = [] {
    std::array<Encoded, 256> t{};
    for (int b = 0; b < 256; ++b) {
      const std::string& c = byte_level_chars()[b];
      t[b].length = static_cast<unsigned char>(c.size());
      for (size_t k = 0; k < c.size(); ++k) t[b].text[k] = c[k];
    }
    return t;
  }();
  const size_t start = out.size();
  out.resize(start + 2 * bytes.size());
  char* p = out.data() + start;
  for (const char c : bytes) {
    const Encoded& e = table[static_cast<unsigned char>(c)];
    p[0] = e.text[0];
    p[1] = e.text[1];
    p += e.length;
  }
  out.resize(static_cast<size_t>(p - out.data()));
}

}  // namespace slim::tok
