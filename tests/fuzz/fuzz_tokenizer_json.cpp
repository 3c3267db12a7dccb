// Fuzz target: tokenizer.json (and tokenizer_config.json) loading. The input up to its first NUL
// byte is tokenizer.json, the rest tokenizer_config.json (JSON text holds no raw NUL, so a seed
// file is all tokenizer.json). A tokenizer that loads encodes and decodes a short text, so a
// hostile vocabulary, merge list or component shows up there too. The limits are small so that
// each input runs fast; the library's defaults are checked by tests/test_tokenizer.cpp.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "slim/error.hpp"
#include "slim/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view json = input.substr(0, nul);
  const std::string_view config = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  slim::Limits limits;
  limits.max_vocab_size = 1 << 16;
  limits.max_merges = 1 << 16;
  limits.max_added_tokens = 1 << 12;
  try {
    const auto tokenizer = slim::Tokenizer::from_json(json, config, limits);
    for (const bool special : {true, false}) {
      const auto ids = tokenizer.encode("Hello world! <s> 12345 \xe2\x96\x81 \xff caf\xc3\xa9\n\n  x",
                                        {.add_special_tokens = special, .parse_special = special});
      (void)tokenizer.decode(ids, special);
    }
    const int32_t n = tokenizer.vocab_size();
    auto stream = tokenizer.stream_decoder();
    for (int32_t id = 0; id < n && id < 64; ++id) {
      (void)tokenizer.id_to_token(id);
      (void)stream.push(id);
    }
    (void)stream.finish();
  } catch (const slim::Error&) {
  }
  return 0;
}
