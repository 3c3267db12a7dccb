// Fuzz target: grammar sources. The first byte picks GBNF, regex or JSON Schema (pretty or not);
// the rest is the source, up to a NUL byte, after which come bytes for a matcher to read.
// Bad input must be a slim::Error, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "slim/error.hpp"
#include "slim/grammar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = rest.find('\0');
  const std::string_view source = rest.substr(0, cut);
  const std::string_view text = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
  try {
    slim::Grammar g = [&] {
      switch (data[0] % 4) {
        case 0: return slim::Grammar::from_gbnf(source);
        case 1: return slim::Grammar::from_regex(source);
        case 2: return slim::Grammar::from_json_schema(source);
        default: return slim::Grammar::from_json_schema(source, {.pretty = true});
      }
    }();
    slim::GrammarMatcher m(g);
    for (size_t i = 0; i < text.size(); ++i) {
      if (!m.accept(text.substr(i, 1))) break;
    }
    (void)m.is_complete();
  } catch (const slim::Error&) {
  }
  return 0;
}
