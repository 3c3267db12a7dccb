// slim-generate: text generation from a Hugging Face model folder.
//   slim-generate --model DIR (--prompt TEXT | --ids 1,2,3) [--max-tokens N] [model flags]
//                 [--logits-out FILE] [--chat] [--no-echo] [--stop TEXT]... [sampling flags]
//                 [--json-schema FILE | --grammar FILE | --regex RE | --json] [--pretty]
// Prints the prompt, then streams the continuation to stdout as it is produced (as llama-cli does),
// and prompt and generation speed on stderr. --no-echo prints only the continuation; --ids,
// --logits-out and --chat runs never echo (--chat prints only the reply, not the templated prompt).
// --logits-out writes {"input_ids": [...], "logits": [[...] per prompt position], "new_tokens": [...]}.
// A folder without tokenizer.json works with --ids; the generated ids are printed instead of text.
// --json-schema, --grammar (GBNF), --regex and --json constrain the continuation (slim::Grammar).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "slim/slim.hpp"

namespace {

void write_logits(const std::string& path, const std::vector<int32_t>& input, const std::vector<float>& logits,
                  int64_t vocab, const std::vector<int32_t>& generated) {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t p = 0; p < input.size(); ++p) {
    rows.push_back(std::vector<float>(logits.begin() + static_cast<std::ptrdiff_t>(p * vocab),
                                      logits.begin() + static_cast<std::ptrdiff_t>((p + 1) * vocab)));
  }
  nlohmann::json out = {{"input_ids", input}, {"logits", rows}, {"new_tokens", generated}};
  std::ofstream f(path);
  f << out.dump() << '\n';
  if (!f) throw slim::Error(slim::ErrorCode::io, path + ": cannot write");
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw slim::Error(slim::ErrorCode::io, path + ": cannot open");
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Text generation with slim", "slim-generate");
  slim::cli::ModelArgs model_args;
  std::string prompt, logits_out;
  std::vector<int32_t> ids;
  bool ignore_eos = false, chat = false, no_echo = false;
  slim::GenerateOptions options{.max_tokens = 128};
  slim::cli::add_model_options(app, model_args);
  app.get_option("--context")->description("context length in tokens (0 = prompt + max tokens)");
  auto* prompt_opt = app.add_option("--prompt", prompt, "prompt text (encoded with the model's tokenizer, BOS added)");
  auto* ids_opt = app.add_option("--ids", ids, "prompt as token ids, e.g. 1,2,3 (no BOS added)")->delimiter(',');
  prompt_opt->excludes(ids_opt);
  app.add_option("--max-tokens", options.max_tokens, "tokens to generate")
      ->check(slim::cli::at_least(0));
  app.add_option("--logits-out", logits_out, "write prompt logits and generated ids as JSON to this file");
  app.add_option("--stop", options.stop, "stop before this text (repeatable)");
  app.add_flag("--chat", chat, "wrap the prompt as one user message in the model's chat template (prints only the reply)");
  app.add_flag("--no-echo", no_echo, "print only the continuation, not the prompt before it");
  app.add_flag("--ignore-eos", ignore_eos, "keep generating after an end-of-sequence token");
  std::string schema_file, grammar_file, regex;
  bool any_json = false, pretty = false;
  auto* schema_opt = app.add_option("--json-schema", schema_file, "constrain the output to JSON valid for this JSON Schema file");
  auto* grammar_opt = app.add_option("--grammar", grammar_file, "constrain the output to this GBNF grammar file (rule root)");
  auto* regex_opt = app.add_option("--regex", regex, "constrain the output to match this regular expression");
  auto* json_opt = app.add_flag("--json", any_json, "constrain the output to one JSON value");
  app.add_flag("--pretty", pretty, "with --json-schema: indented JSON instead of compact")->needs(schema_opt);
  schema_opt->excludes(grammar_opt)->excludes(regex_opt)->excludes(json_opt);
  grammar_opt->excludes(regex_opt)->excludes(json_opt);
  regex_opt->excludes(json_opt);
  slim::cli::add_sampling_options(app, options.sampler);
  app.footer(slim::cli::examples(
      {"build/examples/slim-generate --model ../shared/models/stories260K --prompt \"Once upon a time\" --weights q4_0",
       "build/examples/slim-generate --model ../shared/models/stories260K --prompt \"Lily\" --temp 0.8 --seed 7 --no-echo"}));

  return slim::cli::run(app, argc, argv, [&]() -> int {
    if (prompt_opt->count() == 0 && ids_opt->count() == 0) throw CLI::RequiredError("--prompt or --ids");
    if (chat && ids_opt->count()) throw CLI::ValidationError("--chat needs --prompt, not --ids");
    options.stop_at_eos = !ignore_eos;
    if (schema_opt->count()) options.grammar = slim::Grammar::from_json_schema(read_file(schema_file), {.pretty = pretty});
    if (grammar_opt->count()) options.grammar = slim::Grammar::from_gbnf(read_file(grammar_file));
    if (regex_opt->count()) options.grammar = slim::Grammar::from_regex(regex);
    if (any_json) options.grammar = slim::Grammar::any_json();
    auto model = slim::cli::load_model(model_args, slim::cli::stderr_log(app.get_name()));
    int64_t context = model_args.context;
    if (chat) {
      const std::string text = model->chat_template().apply({{{"user", prompt}}}, /*add_generation_prompt=*/true);
      ids = model->tokenizer().encode(text, {.add_special_tokens = false});  // the template has BOS
    } else if (prompt_opt->count()) {
      ids = model->tokenizer().encode(prompt);
    }
    if (ids.empty()) throw slim::Error(slim::ErrorCode::invalid_argument, "the prompt has no tokens");

    const int64_t needed = static_cast<int64_t>(ids.size()) + options.max_tokens;
    if (context == 0) context = std::min(needed, model->info().max_context);
    if (static_cast<int64_t>(ids.size()) > std::min(context, model->info().max_context)) {
      throw slim::Error(slim::ErrorCode::context_overflow,
                        "the prompt has " + std::to_string(ids.size()) + " tokens; the context holds " +
                            std::to_string(std::min(context, model->info().max_context)));
    }
    slim::Session session(model, context, model_args.kv_type);

    // The prompt as the user wrote it, then the continuation. Not for the templated --chat prompt,
    // nor --ids / --logits-out runs, whose output other tools read.
    const bool echo = !no_echo && !chat && prompt_opt->count() && logits_out.empty();
    if (echo) slim::cli::print_text(prompt);
    options.text_continues_prompt = echo;  // "Once upon a" + " time", not "time"

    std::vector<float> prompt_logits;
    std::span<const int32_t> prompt_ids = ids;
    double prompt_seconds = 0;
    if (!logits_out.empty()) {  // every position's logits; generate() then continues from them
      const auto start = std::chrono::steady_clock::now();
      auto all = session.prefill(ids, /*all_logits=*/true);
      prompt_seconds = slim::cli::seconds_since(start);
      prompt_logits.assign(all.begin(), all.end());
      prompt_ids = {};
    }
    auto result = slim::generate(session, prompt_ids, options, slim::cli::print_text);
    if (!model->has_tokenizer()) {
      for (size_t i = 0; i < result.tokens.size(); ++i) std::printf("%s%d", i ? " " : "", result.tokens[i]);
    }
    std::fputs("\n", stdout);
    std::fflush(stdout);  // the text before the figures on stderr

    if (!logits_out.empty()) write_logits(logits_out, ids, prompt_logits, model->info().vocab_size, result.tokens);
    prompt_seconds += result.prompt_seconds;
    const double prompt_s = prompt_seconds > 0 ? prompt_seconds : 1e-9;
    const double gen_s = result.generate_seconds > 0 ? result.generate_seconds : 1e-9;
    std::fprintf(stderr, "prompt: %zu tokens in %.3f s (%.1f tokens/s)\n", ids.size(), prompt_seconds,
                 static_cast<double>(ids.size()) / prompt_s);
    std::fprintf(stderr, "generation: %zu tokens in %.3f s (%.1f tokens/s), %d threads\n", result.tokens.size(),
                 result.generate_seconds, static_cast<double>(result.tokens.size()) / gen_s, model->threads());
    return 0;
  });
}
