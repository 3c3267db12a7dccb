#include "tokenizer/utf8.hpp"

namespace slim::tok {

// Well-formed sequences, from the Unicode standard's table 3-7: the lead byte fixes the length and
// the allowed range of the second byte; later bytes are 80..BF.
Utf8Step utf8_step(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return {1, lead, true, false};
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t cp;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1, cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2, cp = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3, cp = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return {1, 0, false, false};
  }
  size_t k = 1;
  for (; k <= need; ++k) {
    if (i + k >= s.size()) return {k, 0, false, true};
    const unsigned char b = byte(i + k);
    if (b < lo || b > hi) return {k, 0, false, false};
    lo = 0x80, hi = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
  }
  return {need + 1, cp, true, false};
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step step = utf8_step(s, i);
    if (!step.valid) return false;
    i += step.length;
  }
  return true;
}

void append_repaired_utf8(std::string& out, std::string_view s) {
  size_t run = 0;  // start of the current run of valid bytes
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step step = utf8_step(s, i);
    if (!step.valid) {
      out.append(s.substr(run, i - run));
      out += "\xEF\xBF\xBD";
      run = i + step.length;
    }
    i += step.length;
  }
  out.append(s.substr(run));
}

std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_repaired_utf8(out, s);
  return out;
}

size_t incomplete_utf8_tail(std::string_view s) {
  const size_t first = s.size() > 3 ? s.size() - 3 : 0;
  for (size_t i = first; i < s.size(); ++i) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80 || b >= 0xC0) {  // a possible lead byte: does a truncated character start here?
      const Utf8Step step = utf8_step(s, i);
      if (!step.valid && step.truncated) return s.size() - i;
    }
  }
  return 0;
}

}  // namespace slim::tok
