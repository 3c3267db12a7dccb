// slim-tokenize: text in, token ids out, as Hugging Face's tokenizer would give them.
//
//   slim-tokenize --model DIR [--no-special] [--jsonl] < input
//
// Reads all of stdin and prints its ids as a JSON array, e.g. [1, 415, 2]. With --jsonl every
// input line is a JSON string and every output line is {"ids": [...]}. --no-special encodes
// without the special-token template (add_special_tokens=false).
#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "slim/error.hpp"
#include "slim/tokenizer.hpp"

namespace {

constexpr const char* kUsage =
    "usage: slim-tokenize --model DIR [--no-special] [--jsonl]\n"
    "  Reads text on stdin and prints its token ids as a JSON array.\n"
    "  --model DIR    folder with tokenizer.json (and tokenizer_config.json)\n"
    "  --no-special   do not add the special tokens of the template (BOS, ...)\n"
    "  --jsonl        each input line is a JSON string; each output line is {\"ids\": [...]}\n";

std::string ids_json(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

int fail(const std::string& message) {
  std::cerr << "slim-tokenize: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model;
  bool jsonl = false;
  slim::EncodeOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--model") {
      if (i + 1 >= argc) return fail("--model needs a folder (see --help)");
      model = argv[++i];
    } else if (arg == "--no-special") {
      options.add_special_tokens = false;
    } else if (arg == "--jsonl") {
      jsonl = true;
    } else {
      return fail("unknown argument '" + std::string(arg) + "' (see --help)");
    }
  }
  if (model.empty()) return fail("--model DIR is required (see --help)");

  try {
    const slim::Tokenizer tokenizer = slim::Tokenizer::load(model);
    if (!jsonl) {
      const std::string text(std::istreambuf_iterator<char>(std::cin), {});
      std::cout << ids_json(tokenizer.encode(text, options)) << "\n";
      return 0;
    }
    std::string line;
    for (size_t number = 1; std::getline(std::cin, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      nlohmann::json value;
      try {
        value = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        return fail("stdin line " + std::to_string(number) + ": not JSON: " + e.what());
      }
      if (!value.is_string()) return fail("stdin line " + std::to_string(number) + ": not a JSON string");
      std::cout << "{\"ids\": " << ids_json(tokenizer.encode(value.get<std::string>(), options))
                << "}\n";
    }
  } catch (const slim::Error& e) {
    return fail(e.what());
  }
  return 0;
}
