// Fuzz target: encode() of arbitrary bytes with real tokenizers from ../shared (SLIM_SHARED_DIR),
// loaded once: the first input byte picks Llama 3 (byte-level BPE with a split regex) or Mistral
// (SentencePiece-style BPE with byte fallback), the rest is the text. Checks what the API promises
// beyond "no crash": every id is in the vocabulary, decode() returns valid UTF-8, and streaming
// decode gives exactly decode()'s text. The same bytes read as ids are decoded too.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "slim/error.hpp"
#include "slim/tokenizer.hpp"

namespace {

const slim::Tokenizer& tokenizer(unsigned which) {
  static const auto load = [](const char* name) {
    const char* env = std::getenv("SLIM_SHARED_DIR");
    const std::filesystem::path shared = env && *env ? env : "../shared";
    return slim::Tokenizer::load(shared / "fixtures" / "tokenizers" / name);
  };
  static const slim::Tokenizer llama3 = load("llama3");
  static const slim::Tokenizer mistral = load("mistral");
  return which % 2 == 0 ? llama3 : mistral;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static const uint32_t min_of[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

void check(bool ok) {
  if (!ok) __builtin_trap();  // a broken promise is a finding, like a crash
}

void decode_both_ways(const slim::Tokenizer& t, const std::vector<int32_t>& ids, bool skip_special) {
  const std::string text = t.decode(ids, skip_special);
  check(valid_utf8(text));
  auto stream = t.stream_decoder(skip_special);
  std::string streamed;
  for (const int32_t id : ids) streamed += stream.push(id);
  streamed += stream.finish();
  check(streamed == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const slim::Tokenizer& t = tokenizer(data[0]);
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    for (const bool special : {true, false}) {
      const auto ids = t.encode(text, {.add_special_tokens = special, .parse_special = special});
      for (const int32_t id : ids) check(id >= 0 && id < t.vocab_size());
      decode_both_ways(t, ids, !special);
    }
    // The bytes as little-endian 16-bit ids (mod the vocabulary size).
    std::vector<int32_t> ids;
    for (size_t i = 0; i + 1 < text.size(); i += 2) {
      const auto v = static_cast<int32_t>(static_cast<uint8_t>(text[i]) | static_cast<uint8_t>(text[i + 1]) << 8);
      ids.push_back(v % t.vocab_size());
    }
    decode_both_ways(t, ids, false);
    decode_both_ways(t, ids, true);
  } catch (const slim::Error&) {
    check(false);  // encode and decode of in-range ids never fail
  }
  return 0;
}
