// Fuzz target: chat templates. The input is TEMPLATE [NUL MESSAGES_JSON [NUL TOOLS_JSON]]:
// TEMPLATE is parsed and, when it parses, rendered with a fixed conversation (and with
// MESSAGES_JSON when there is one); MESSAGES_JSON and TOOLS_JSON are also rendered by a real
// template, Qwen3's from ../shared/fixtures/chat/qwen3.json (SLIM_SHARED_DIR), loaded once. The
// limits are small so that each input runs fast; hitting one is an ordinary slim::Error.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "slim/chat_template.hpp"
#include "slim/error.hpp"

namespace {

slim::ChatTemplateLimits small_limits() {
  slim::ChatTemplateLimits limits;
  limits.max_output_bytes = 1 << 16;
  limits.max_loop_iterations = 10'000;
  limits.max_call_depth = 16;
  limits.max_macro_calls = 1000;
  limits.max_total_bytes = 1 << 20;
  return limits;
}

const slim::ChatTemplate& qwen3() {
  static const slim::ChatTemplate t = [] {
    const char* env = std::getenv("SLIM_SHARED_DIR");
    const std::filesystem::path shared = env && *env ? env : "../shared";
    std::ifstream in(shared / "fixtures" / "chat" / "qwen3.json");
    std::stringstream ss;
    ss << in.rdbuf();
    const auto doc = nlohmann::json::parse(ss.str());
    auto parsed = slim::ChatTemplate::from_string(doc.at("chat_template").get<std::string>(), "", "<|im_end|>");
    parsed.set_limits(small_limits());
    return parsed;
  }();
  return t;
}

template <class F>
void expect_error_at_most(F&& f) {
  try {
    f();
  } catch (const slim::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view source = input.substr(0, nul);
  std::optional<std::string_view> messages, tools;
  if (nul != std::string_view::npos) {
    const std::string_view rest = input.substr(nul + 1);
    const size_t nul2 = rest.find('\0');
    messages = rest.substr(0, nul2);
    if (nul2 != std::string_view::npos) tools = rest.substr(nul2 + 1);
  }

  std::optional<slim::ChatTemplate> t;
  expect_error_at_most([&] { t.emplace(slim::ChatTemplate::from_string(source, "<s>", "</s>")); });
  if (t) {
    t->set_limits(small_limits());
    static const slim::ChatMessage conversation[] = {
        {"system", "Be brief."}, {"user", "Hi \xff there"}, {"assistant", "Hello!"}, {"user", "2+2?"}};
    expect_error_at_most([&] { (void)t->apply(conversation, true); });
    if (messages) expect_error_at_most([&] { (void)t->apply_json(*messages, false, tools.value_or("")); });
  }
  if (messages) {
    expect_error_at_most([&] { (void)qwen3().apply_json(*messages, true, tools.value_or("")); });
  }
  return 0;
}
