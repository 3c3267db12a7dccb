#include "chat/text.hpp"

#include <cstdint>

namespace slim::chat {

namespace {

// Length of the UTF-8 sequence at s[i] when it is well formed, else 1.
std::size_t sequence_length(std::string_view s, std::size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  std::size_t n = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (n <= 1 || i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

std::uint32_t decode(std::string_view s, std::size_t i, std::size_t n) {
  const auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (n) {
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    case 4: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    default: return b(0);
  }
}

// ECMAScript WhiteSpace and LineTerminator code points (what String.prototype.trim removes).
bool is_space(std::uint32_t c) {
  return c == 0x09 || c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D || c == 0x20 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

}  // namespace

std::vector<std::string> split_code_points(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = sequence_length(s, i);
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::size_t code_point_count(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); i += sequence_length(s, i)) ++count;
  return count;
}

std::size_t whitespace_at(std::string_view s, std::size_t i) {
  if (i >= s.size()) return 0;
  const std::size_t n = sequence_length(s, i);
  return is_space(decode(s, i, n)) ? n : 0;
}

std::size_t whitespace_before(std::string_view s, std::size_t end) {
  // A whitespace character is at most 3 bytes long; try each start position.
  for (std::size_t n = 1; n <= 3 && n <= end; ++n) {
    const std::size_t start = end - n;
    if (sequence_length(s, start) == n && whitespace_at(s, start) == n) return n;
  }
  return 0;
}

std::string_view trim_left(std::string_view s) {
  std::size_t i = 0;
  while (std::size_t n = whitespace_at(s, i)) i += n;
  return s.substr(i);
}

std::string_view trim_right(std::string_view s) {
  std::size_t end = s.size();
  while (std::size_t n = whitespace_before(s, end)) end -= n;
  return s.substr(0, end);
}

std::string_view trim(std::string_view s) { return trim_right(trim_left(s)); }

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string to_title(std::string_view s) {
  std::string out(s);
  bool previous_is_letter = false;
  for (char& c : out) {
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    if (upper && previous_is_letter) c = static_cast<char>(c - 'A' + 'a');
    if (lower && !previous_is_letter) c = static_cast<char>(c - 'a' + 'A');
    // Non-ASCII bytes count as letters so that "élan" does not capitalise the 'l'.
    previous_is_letter = upper || lower || static_cast<unsigned char>(c) >= 0x80;
  }
  return out;
}

std::string to_capitalized(std::string_view s) {
  std::string out = to_lower(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to,
                        long long count) {
  std::string out;
  if (from.empty()) {
    const auto pieces = split_code_points(s);
    long long done = 0;
    for (const auto& piece : pieces) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += piece;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  std::size_t pos = 0;
  long long done = 0;
  while (count < 0 || done < count) {
    const std::size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
    ++done;
  }
  out.append(s.substr(pos));
  return out;
}

}  // namespace slim::chat
