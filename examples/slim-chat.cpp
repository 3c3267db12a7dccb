// slim-chat: interactive multi-turn chat with a model's chat template.
//   slim-chat --model DIR [--max-tokens N] [--system TEXT] [model flags] [sampling flags]
// Reads one user message a line from stdin (a terminal or a pipe); /reset starts over, /quit ends.
// Each turn re-renders the conversation and runs only the tokens the session does not already
// hold, so the KV cache is reused across turns.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "slim/slim.hpp"

int main(int argc, char** argv) {
  CLI::App app("Interactive chat with slim", "slim-chat");
  slim::cli::ModelArgs model_args;
  slim::GenerateOptions options{.max_tokens = 512};
  std::string system;
  slim::cli::add_model_options(app, model_args);
  app.add_option("--max-tokens", options.max_tokens, "most tokens a reply may have")
      ->check(slim::cli::at_least(1));
  app.add_option("--system", system, "a system message that opens the conversation");
  slim::cli::add_sampling_options(app, options.sampler);
  app.footer(slim::cli::examples(
      {"build/examples/slim-chat --model ../shared/models/stories260K --weights q8_0",
       "printf 'Tell me a story\\n/reset\\nHello\\n' | "
       "build/examples/slim-chat --model ../shared/models/stories260K --max-tokens 32"}));

  return slim::cli::run(app, argc, argv, [&]() -> int {
    auto model = slim::cli::load_model(model_args, slim::cli::stderr_log(app.get_name()));
    const slim::ChatTemplate& chat = model->chat_template();
    const slim::Tokenizer& tokenizer = model->tokenizer();
    slim::Session session(model, model_args.context, model_args.kv_type);
    const bool interactive = isatty(STDIN_FILENO);

    std::vector<slim::ChatMessage> messages;
    auto start_over = [&] {
      messages.clear();
      if (!system.empty()) messages.push_back({"system", system});
      session.reset();
    };
    start_over();
    std::vector<int32_t> held;  // the tokens the session holds, in order

    std::string line;
    while (true) {
      if (interactive) std::cout << "> " << std::flush;
      if (!std::getline(std::cin, line)) break;
      if (line == "/quit") break;
      if (line == "/reset") {
        start_over();
        held.clear();
        std::cerr << "(conversation reset)\n";
        continue;
      }
      if (line.empty()) continue;
      messages.push_back({"user", line});
      const std::string text = chat.apply(messages, /*add_generation_prompt=*/true);
      std::vector<int32_t> ids = tokenizer.encode(text, {.add_special_tokens = false});  // BOS is in the text

      // Keep what the session already holds of this prompt; run only the rest.
      size_t common = 0;
      while (common < held.size() && common < ids.size() && held[common] == ids[common]) ++common;
      if (common == ids.size()) --common;  // at least one token must run to get fresh logits
      try {
        session.truncate(static_cast<int64_t>(common));
      } catch (const slim::Error&) {  // a wrapped sliding window cannot go back: run it all again
        session.reset();
        common = 0;
      }
      if (static_cast<int64_t>(ids.size()) >= session.context_length()) {
        std::cerr << "(the conversation no longer fits the context of " << session.context_length()
                  << " tokens; use /reset or a larger --context)\n";
        messages.pop_back();
        continue;
      }
      const std::span<const int32_t> fresh = std::span<const int32_t>(ids).subspan(common);
      auto result = slim::generate(session, fresh, options, slim::cli::print_text);
      std::cout << "\n" << std::flush;
      held = ids;
      held.insert(held.end(), result.tokens.begin(), result.tokens.end());
      held.resize(static_cast<size_t>(session.position()));
      messages.push_back({"assistant", result.text});
      std::cerr << "(" << fresh.size() << " new prompt tokens in " << static_cast<int>(result.prompt_seconds * 1000)
                << " ms, " << result.tokens.size() << " tokens at "
                << static_cast<int>(result.tokens.size() / std::max(result.generate_seconds, 1e-9)) << " tokens/s)\n";
    }
    return 0;
  });
}
