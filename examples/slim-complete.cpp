// slim-complete: code completion. A prefix file in, its continuation out.
//   slim-complete --model DIR --file PREFIX [--max-tokens N] [--stop TEXT]... [model flags] [sampling flags]
// Prints the completion to stdout, then time to first token and ms per token on stderr.
#include <cstdio>

#include "cli.hpp"
#include "slim/slim.hpp"

int main(int argc, char** argv) {
  CLI::App app("Complete the text (code) of a file with slim", "slim-complete");
  slim::cli::ModelArgs model_args;
  slim::GenerateOptions options{.max_tokens = 64};
  std::string file;
  slim::cli::add_model_options(app, model_args);
  app.add_option("--file", file, "the prefix to complete")->required();
  app.add_option("--max-tokens", options.max_tokens, "most tokens to add")->check(slim::cli::at_least(0));
  app.add_option("--stop", options.stop, "stop before this text (repeatable), e.g. a blank line");
  slim::cli::add_sampling_options(app, options.sampler);
  app.footer(slim::cli::examples(
      {"echo 'Once upon a time' | "
       "build/examples/slim-complete --model ../shared/models/stories260K --file /dev/stdin --weights q4_0"}));

  return slim::cli::run(app, argc, argv, [&]() -> int {
    const std::string prefix = slim::cli::read_text_file(file);
    auto model = slim::cli::load_model(model_args, slim::cli::stderr_log(app.get_name()));
    slim::Session session(model, model_args.context, model_args.kv_type);
    auto r = slim::generate(session, prefix, options, slim::cli::print_text);
    std::fputs("\n", stdout);
    std::fflush(stdout);  // the text before the figures on stderr
    const double ms_per_token = r.tokens.size() > 1 ? r.generate_seconds * 1000 / static_cast<double>(r.tokens.size()) : 0;
    std::fprintf(stderr, "prefix: %zu tokens; time to first token: %.1f ms; %.2f ms per token (%zu tokens)\n",
                 r.prompt_tokens.size(), r.first_token_seconds * 1000, ms_per_token, r.tokens.size());
    return 0;
  });
}
