// slim-summarize: a long text file to bullet points, through the model's chat template.
//   slim-summarize --model DIR --file TEXT [--max-tokens N] [model flags] [sampling flags]
// Prints the summary to stdout, then prompt-processing speed and total time on stderr.
#include <cstdio>

#include "cli.hpp"
#include "slim/slim.hpp"

int main(int argc, char** argv) {
  CLI::App app("Summarise a text file as bullet points with slim", "slim-summarize");
  slim::cli::ModelArgs model_args;
  slim::GenerateOptions options{.max_tokens = 256};
  std::string file;
  slim::cli::add_model_options(app, model_args);
  app.add_option("--file", file, "the text to summarise")->required();
  app.add_option("--max-tokens", options.max_tokens, "most tokens of summary")->check(slim::cli::at_least(0));
  slim::cli::add_sampling_options(app, options.sampler);
  app.footer(slim::cli::examples(
      {"echo 'Lily went to the park. She saw a big dog.' | "
       "build/examples/slim-summarize --model ../shared/models/stories260K --file /dev/stdin --max-tokens 64"}));

  return slim::cli::run(app, argc, argv, [&]() -> int {
    const auto start = std::chrono::steady_clock::now();
    const std::string text = slim::cli::read_text_file(file);
    auto model = slim::cli::load_model(model_args, slim::cli::stderr_log(app.get_name()));
    const std::string request = "Summarise the following text as a short list of bullet points.\n\n" + text;
    const std::string prompt = model->chat_template().apply({{{"user", request}}}, /*add_generation_prompt=*/true);
    const auto ids = model->tokenizer().encode(prompt, {.add_special_tokens = false});
    slim::Session session(model, model_args.context, model_args.kv_type);
    if (static_cast<int64_t>(ids.size()) + 1 > session.context_length()) {
      throw slim::Error(slim::ErrorCode::context_overflow,
                        file + " needs " + std::to_string(ids.size()) + " tokens; the context holds " +
                            std::to_string(session.context_length()) + " (see --context)");
    }
    auto r = slim::generate(session, std::span<const int32_t>(ids), options, slim::cli::print_text);
    std::fputs("\n", stdout);
    std::fflush(stdout);  // the text before the figures on stderr
    std::fprintf(stderr, "prompt: %zu tokens at %.1f tokens/s; %zu tokens generated; total %.2f s\n", ids.size(),
                 static_cast<double>(ids.size()) / std::max(r.prompt_seconds, 1e-9), r.tokens.size(),
                 slim::cli::seconds_since(start));
    return 0;
  });
}
