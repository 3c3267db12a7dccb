// slim-actions: action items from a live transcript. Each chunk of lines is run into the session as
// it arrives (so the final question costs only its own tokens); at the end the model lists the
// action items, as JSON constrained by kActionItemsSchema (docs/structured_output.md).
//   slim-actions --model DIR [--file TRANSCRIPT] [--chunk-lines N] [--max-tokens N] [model flags] [sampling flags]
// Reads stdin when no --file is given. Per-chunk latency on stderr, the action items on stdout.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "slim/slim.hpp"

namespace {

// The answer's JSON Schema: every answer is a document of it (docs/structured_output.md).
const char* kActionItemsSchema = R"({
  "type": "object",
  "properties": {
    "action_items": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "owner": {"type": "string", "minLength": 1, "maxLength": 24},
          "task": {"type": "string", "minLength": 1, "maxLength": 80},
          "due": {"type": ["string", "null"], "maxLength": 20}
        },
        "required": ["owner", "task", "due"],
        "additionalProperties": false
      },
      "maxItems": 5
    }
  },
  "required": ["action_items"],
  "additionalProperties": false
}
)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Extract action items from a transcript with slim", "slim-actions");
  slim::cli::ModelArgs model_args;
  slim::GenerateOptions options{.max_tokens = 256};
  std::string file;
  int chunk_lines = 1;
  slim::cli::add_model_options(app, model_args);
  app.add_option("--file", file, "the transcript (default: stdin)");
  app.add_option("--chunk-lines", chunk_lines, "lines a chunk")->check(slim::cli::at_least(1));
  app.add_option("--max-tokens", options.max_tokens, "most tokens of the answer")->check(slim::cli::at_least(0));
  slim::cli::add_sampling_options(app, options.sampler);
  app.footer(slim::cli::examples(
      {"printf 'Anna: I will send the notes by Friday.\\nBen: I will book the room.\\n' | "
       "build/examples/slim-actions --model ../shared/models/stories260K --max-tokens 64"}));

  return slim::cli::run(app, argc, argv, [&]() -> int {
    options.grammar = slim::Grammar::from_json_schema(kActionItemsSchema);
    std::ifstream in_file;
    if (!file.empty()) {
      in_file.open(file);
      if (!in_file) throw slim::Error(slim::ErrorCode::io, file + ": cannot open");
    }
    std::istream& in = file.empty() ? std::cin : in_file;
    auto model = slim::cli::load_model(model_args, slim::cli::stderr_log(app.get_name()));
    const slim::Tokenizer& tokenizer = model->tokenizer();
    slim::Session session(model, model_args.context, model_args.kv_type);

    // The chat template around one user message, split where the message goes, so the transcript
    // can stream into the middle of it.
    const std::string marker = "\x1f";
    const std::string whole = model->chat_template().apply({{{"user", marker}}}, /*add_generation_prompt=*/true);
    const size_t at = whole.find(marker);
    if (at == std::string::npos) throw slim::Error(slim::ErrorCode::template_error, "the chat template drops the message");
    const std::string head = whole.substr(0, at) + "Here is a meeting transcript.\n\n";
    const std::string tail =
        "\nList the action items of this meeting as JSON: {\"action_items\": [{\"owner\": who, \"task\": what, "
        "\"due\": by when, or null}]}." +
        whole.substr(at + marker.size());

    auto run = [&](const std::string& text, bool first) {
      const auto ids = tokenizer.encode(text, {.add_special_tokens = false});
      if (ids.empty()) return;
      if (session.position() + static_cast<int64_t>(ids.size()) >= session.context_length()) {
        throw slim::Error(slim::ErrorCode::context_overflow, "the transcript exceeds the context of " +
                                                                 std::to_string(session.context_length()) + " tokens (see --context)");
      }
      (void)first;
      session.prefill(ids);
    };
    run(head, true);
    std::string line, chunk;
    int lines = 0, chunks = 0;
    double total = 0;
    auto flush = [&] {
      if (chunk.empty()) return;
      const auto t = std::chrono::steady_clock::now();
      const int64_t before = session.position();
      run(chunk, false);
      const double s = slim::cli::seconds_since(t);
      total += s;
      std::fprintf(stderr, "chunk %d: %lld tokens in %.1f ms\n", ++chunks, static_cast<long long>(session.position() - before),
                   s * 1000);
      chunk.clear();
    };
    while (std::getline(in, line)) {
      chunk += line + "\n";
      if (++lines % chunk_lines == 0) flush();
    }
    flush();
    const auto ids = tokenizer.encode(tail, {.add_special_tokens = false});
    auto r = slim::generate(session, std::span<const int32_t>(ids), options, slim::cli::print_text);
    std::fputs("\n", stdout);
    std::fflush(stdout);  // the text before the figures on stderr
    if (r.stop_reason == slim::StopReason::max_tokens || r.stop_reason == slim::StopReason::context_full) {
      std::fprintf(stderr, "slim-actions: the answer was cut off before its JSON ended (raise --max-tokens)\n");
    }
    std::fprintf(stderr, "%d chunks in %.1f ms (%.1f ms a chunk); question: %.1f ms to first token, %zu tokens\n", chunks,
                 total * 1000, chunks ? total * 1000 / chunks : 0.0, r.first_token_seconds * 1000, r.tokens.size());
    return 0;
  });
}
