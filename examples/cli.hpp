// What every example program shares: argument errors and slim::Error become one line on stderr
// and a non-zero exit status, --help prints the usage.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>

#include "slim/error.hpp"
#include "slim/model.hpp"
#include "slim/sampler.hpp"

namespace slim::cli {

// --model, --threads and --context, which every program that runs a model takes.
struct ModelArgs {
  std::string dir;
  int threads = 0;
  int64_t context = 0;
};
inline void add_model_options(CLI::App& app, ModelArgs& m) {
  app.add_option("--model", m.dir, "Hugging Face model folder")->required();
  app.add_option("--threads", m.threads, "threads (0 = all hardware threads)")->check(CLI::NonNegativeNumber);
  app.add_option("--context", m.context, "context length (0 = the model's, at most 4096)")->check(CLI::NonNegativeNumber);
}
inline std::shared_ptr<const slim::Model> load_model(const ModelArgs& m) {
  return slim::Model::load(m.dir, {.threads = m.threads});
}

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw slim::Error(slim::ErrorCode::io, path + ": cannot open");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Writes generated text to stdout as it arrives.
inline bool print_text(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return true;
}

// The sampling flags every generating program shares.
inline void add_sampling_options(CLI::App& app, slim::SamplerOptions& s) {
  app.add_option("--temp", s.temperature, "temperature; 0 = greedy")->check(CLI::NonNegativeNumber);
  app.add_option("--top-k", s.top_k, "keep the k most likely tokens; 0 = off")->check(CLI::NonNegativeNumber);
  app.add_option("--top-p", s.top_p, "keep the most likely tokens up to this probability")->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-p", s.min_p, "drop tokens below this fraction of the most likely")->check(CLI::Range(0.0, 1.0));
  app.add_option("--repeat-penalty", s.repetition_penalty, "penalty for recent tokens; 1 = off")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", s.seed, "random seed for sampling");
}

// Parses argv into app, then runs body. Returns the process exit status.
inline int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", app.get_name().c_str(), e.what());
    return 2;
  }
  try {
    return body();
  } catch (const slim::Error& e) {
    std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), e.what());
    return 1;
  }
}

}  // namespace slim::cli
