// What every example program shares: the model options (defined here once, so every program has
// the same flags, help text and errors), number checks whose errors read as sentences, argument
// errors and slim::Error as one line on stderr with a non-zero exit status, and --help.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "slim/error.hpp"
#include "slim/model.hpp"
#include "slim/sampler.hpp"

namespace slim::cli {

// A check of a number option whose error reads on from the option's name, instead of CLI11's
// "Value -3 not in range 0.000000 to 1797693134862315708145274..." for NonNegativeNumber:
// must_be<float>("between 0 and 1", [](float v) { return v >= 0 && v <= 1; }) rejects 2 with
// "--top-p must be between 0 and 1, not '2'" (run() drops the colon CLI11 puts after the name).
// The check parses the text itself, so "abc" gets the same sentence.
template <class T, class Ok>
CLI::Validator must_be(std::string what, Ok ok) {
  return CLI::Validator(
      [what, ok](std::string& text) -> std::string {
        T value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error == std::errc{} && stop == end && ok(value)) return {};
        return "must be " + what + ", not '" + text + "'";
      },
      "");
}

// must_be for a lower bound: at_least(1) rejects 0 with "must be 1 or more, not '0'".
template <class T = int>
CLI::Validator at_least(T low, std::string what = "") {
  if (what.empty()) what = std::to_string(low) + " or more";
  return must_be<T>(what, [low](T v) { return v >= low; });
}

// The same check on every item of a comma-separated list ("1,2,4").
inline CLI::Validator each_of_list(CLI::Validator check) {
  return CLI::Validator(
      [check](std::string& text) -> std::string {
        for (size_t start = 0;;) {
          const size_t comma = text.find(',', start);
          std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
          std::string error = check(item);
          if (!error.empty() || comma == std::string::npos) return error;
          start = comma + 1;
        }
      },
      "");
}

// The --weights check: one of "as_stored, f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m, q5_k_m" (without
// as_stored for a program that must convert).
inline CLI::Validator weights_check(bool allow_as_stored = true) {
  std::string names;
  for (auto f : {WeightFormat::as_stored, WeightFormat::f32, WeightFormat::f16, WeightFormat::bf16, WeightFormat::q8_0,
                 WeightFormat::q4_0, WeightFormat::q4_1, WeightFormat::q5_0, WeightFormat::q5_1, WeightFormat::q4_k,
                 WeightFormat::q5_k, WeightFormat::q6_k, WeightFormat::q4_k_m, WeightFormat::q5_k_m}) {
    if (f == WeightFormat::as_stored && !allow_as_stored) continue;
    names += (names.empty() ? "" : ", ") + std::string(weight_format_name(f));
  }
  return CLI::Validator(
      [names, allow_as_stored](std::string& text) -> std::string {
        const auto format = parse_weight_format(text);
        if (format && (allow_as_stored || *format != WeightFormat::as_stored)) return {};
        return "must be one of " + names + ", not '" + text + "'";
      },
      "");
}

// The model options of every program that loads a model.
struct ModelArgs {
  std::string path;                                 // --model
  WeightFormat weights = WeightFormat::as_stored;  // --weights
  int threads = 0;                                  // --threads; 0 = all hardware threads
  bool threads_force = false;                       // --threads-force: more threads than the hardware has
  int64_t context = 0;                              // --context; 0 = the program's default
  DType kv_type = DType::f32;                       // --kv-type
  bool no_mmap = false;                             // --no-mmap
};

// The single options, for programs that take only some of them (slim-tokenize, slim-bench,
// slim-quantize). Each returns its option, e.g. to mark it required.
inline CLI::Option* add_model_option(CLI::App& app, std::string& path) {
  return app.add_option("--model", path, "Hugging Face model folder (config.json, *.safetensors, tokenizer.json), or a GGUF file");
}
inline CLI::Option* add_weights_option(CLI::App& app, WeightFormat& weights, bool allow_as_stored = true) {
  return app
      .add_option_function<std::string>(
          "--weights", [&weights](const std::string& text) { weights = *parse_weight_format(text); },
          allow_as_stored
              ? "weight matrices as stored, or converted at load to f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, or the mixes q4_k_m / q5_k_m (default: as_stored)"
              : "the type to convert the weight matrices to: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, or the mixes q4_k_m / q5_k_m")
      ->check(weights_check(allow_as_stored));
}
inline CLI::Option* add_threads_option(CLI::App& app, int& threads, const std::string& names = "--threads") {
  return app
      .add_option(names, threads,
                  "threads (0 = all hardware threads; more than the hardware has are capped, see --threads-force)")
      ->check(at_least(0, "0 (all cores) or more"));
}
inline CLI::Option* add_threads_force_option(CLI::App& app, bool& force) {
  return app.add_flag("--threads-force", force, "run the threads asked for even when the hardware has fewer");
}
inline CLI::Option* add_context_option(CLI::App& app, int64_t& context) {
  return app.add_option("--context", context, "context length in tokens (0 = the model's, at most 4096)")
      ->check(at_least<int64_t>(0, "0 (the default) or more"));
}
inline CLI::Option* add_kv_type_option(CLI::App& app, DType& kv_type) {
  return app
      .add_option_function<std::string>(
          "--kv-type", [&kv_type](const std::string& text) { kv_type = text == "f16" ? DType::f16 : DType::f32; },
          "what the KV cache holds: f32 (default, transformers' values) or f16 (half the memory and the attention reads)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return text == "f32" || text == "f16" ? "" : "must be f32 or f16, not '" + text + "'";
          },
          ""));
}
inline CLI::Option* add_no_mmap_option(CLI::App& app, bool& no_mmap) {
  return app.add_flag("--no-mmap", no_mmap, "read the weights files into memory instead of mapping them");
}

// --model (required), --weights, --threads, --threads-force, --context, --kv-type and --no-mmap.
inline void add_model_options(CLI::App& app, ModelArgs& args) {
  add_model_option(app, args.path)->required();
  add_weights_option(app, args.weights);
  add_threads_option(app, args.threads);
  add_threads_force_option(app, args.threads_force);
  add_context_option(app, args.context);
  add_kv_type_option(app, args.kv_type);
  add_no_mmap_option(app, args.no_mmap);
}

// The programs' log: the library's warnings and theirs, one line each on stderr.
inline LogCallback stderr_log(const std::string& program) {
  return [program](LogLevel level, const std::string& message) {
    if (level == LogLevel::warning) std::fprintf(stderr, "%s: warning: %s\n", program.c_str(), message.c_str());
  };
}

// The threads to run: more than the hardware runs at once only slow each other down, so a larger
// count is capped to the hardware threads with a warning, unless forced.
inline int usable_threads(int requested, bool force, const LogCallback& log) {
  const int hardware = static_cast<int>(std::thread::hardware_concurrency());  // as LoadOptions's 0
  if (force || hardware == 0 || requested <= hardware) return requested;
  if (log) {
    log(LogLevel::warning, "--threads " + std::to_string(requested) + " is more than the " + std::to_string(hardware) +
                               " hardware threads; using " + std::to_string(hardware) + " (--threads-force runs " +
                               std::to_string(requested) + ")");
  }
  return hardware;
}

// The LoadOptions of these arguments (threads capped as above); programs may add progress.
inline LoadOptions load_options(const ModelArgs& args, const LogCallback& log) {
  return {.threads = usable_threads(args.threads, args.threads_force, log),
          .use_mmap = !args.no_mmap,
          .log = log,
          .weights = args.weights};
}

inline std::shared_ptr<const Model> load_model(const ModelArgs& args, const LogCallback& log) {
  return Model::load(args.path, load_options(args, log));
}

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::io, path + ": cannot open");
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
inline void add_sampling_options(CLI::App& app, SamplerOptions& s) {
  const auto fraction = must_be<float>("between 0 and 1", [](float v) { return v >= 0 && v <= 1; });
  app.add_option("--temp", s.temperature, "temperature; 0 = greedy")
      ->check(at_least(0.0f, "0 (greedy) or more"));
  app.add_option("--top-k", s.top_k, "keep the k most likely tokens; 0 = off")
      ->check(at_least(0, "0 (off) or more"));
  app.add_option("--top-p", s.top_p, "keep the most likely tokens up to this probability")->check(fraction);
  app.add_option("--min-p", s.min_p, "drop tokens below this fraction of the most likely")->check(fraction);
  app.add_option("--repeat-penalty", s.repetition_penalty, "penalty for recent tokens; 1 = off")
      ->check(must_be<float>("more than 0 (1 = off)", [](float v) { return v > 0; }));
  app.add_option("--seed", s.seed, "random seed for sampling");
}

// Help's last lines: example command lines that run as printed from the repository root.
// For app.footer().
inline std::string examples(std::initializer_list<const char*> lines) {
  std::string out = "Examples (from the repository root, with ../shared beside it):";
  for (const char* line : lines) out += std::string("\n  ") + line;
  return out;
}

// Parses argv into app, then runs body. Returns the process exit status.
inline int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    // CLI11 writes "--threads: must be ..."; our checks read on from the name without the colon.
    if (const size_t at = message.find(": must be "); at != std::string::npos) message.erase(at, 1);
    std::fprintf(stderr, "%s: %s (see --help)\n", app.get_name().c_str(), message.c_str());
    return 2;
  }
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), e.what());
    return 1;
  }
}

}  // namespace slim::cli
