// What every example program shares: argument errors and slim::Error become one line on stderr
// and a non-zero exit status, --help prints the usage.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <functional>

#include "slim/error.hpp"
#include "slim/sampler.hpp"

namespace slim::cli {

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
