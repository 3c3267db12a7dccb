// slim-tokenize: text in, token ids out, as Hugging Face's tokenizer would give them.
//
//   slim-tokenize --model DIR [--no-special] [--jsonl] < input
//
// Reads all of stdin and prints its ids as a JSON array, e.g. [1, 415, 2]. With --jsonl every
// input line is a JSON string and every output line is {"ids": [...]}. --no-special encodes
// without the special-token template (add_special_tokens=false).
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "slim/tokenizer.hpp"

namespace {

std::string ids_json(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Reads text on stdin and prints its token ids as a JSON array", "slim-tokenize");
  std::string model;
  bool jsonl = false, no_special = false;
  slim::cli::add_model_option(app, model)->required();  // only its tokenizer files are read
  app.add_flag("--no-special", no_special, "do not add the special tokens of the template (BOS, ...)");
  app.add_flag("--jsonl", jsonl, "each input line is a JSON string; each output line is {\"ids\": [...]}");
  app.footer(slim::cli::examples(
      {"echo 'Once upon a time' | build/examples/slim-tokenize --model ../shared/models/stories260K",
       "printf '\"Hello\"\\n\"world\"\\n' | build/examples/slim-tokenize --model ../shared/models/stories260K --jsonl"}));

  return slim::cli::run(app, argc, argv, [&]() -> int {
    const slim::Tokenizer tokenizer = slim::Tokenizer::load(model);
    const slim::EncodeOptions options{.add_special_tokens = !no_special};
    if (!jsonl) {
      const std::string text(std::istreambuf_iterator<char>(std::cin), {});
      std::cout << ids_json(tokenizer.encode(text, options)) << "\n";
      return 0;
    }
    std::string line;
    for (size_t number = 1; std::getline(std::cin, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      const nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!value.is_string()) {
        throw slim::Error(slim::ErrorCode::invalid_argument, "stdin line " + std::to_string(number) + ": not a JSON string");
      }
      std::cout << "{\"ids\": " << ids_json(tokenizer.encode(value.get<std::string>(), options)) << "}\n";
    }
    return 0;
  });
}
