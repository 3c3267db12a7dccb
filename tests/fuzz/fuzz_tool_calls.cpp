// Fuzz target: the tool-call parser on model output, and the tool-call grammar on a tools list.
// The first byte picks the format (and whether the rest is a tools list for the grammar); the
// parser must never throw, and every call it returns has a name and arguments that are a JSON
// object; a bad tools list must be a slim::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "slim/error.hpp"
#include "slim/tool_calls.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto format = static_cast<slim::ToolCallFormat>(data[0] % 4);
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 4) {
    try {
      (void)slim::tool_call_grammar(format, text, {.choice = static_cast<slim::ToolChoice>((data[0] >> 3) % 3), .function = "f"});
    } catch (const slim::Error&) {
    }
    return 0;
  }
  const slim::ParsedToolCalls p = slim::parse_tool_calls(format, text);
  for (const auto& c : p.calls) {
    const auto args = nlohmann::json::parse(c.arguments, nullptr, false);
    if (!args.is_object()) std::abort();  // the parser promised a JSON object
  }
  return 0;
}
