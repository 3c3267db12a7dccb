// slim-bench: prefill and decode speed, the llama-bench of slim.
//   slim-bench (--model DIR | --config CONFIG.json) [--weights f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1|q4_k|q5_k|q6_k] [-p 512] [-n 128]
//              [-t 1,2] [-r 5] [-d 0] [--json] [--bandwidth] [--no-mmap] [--threads-force]
// ppN prefills N tokens into an empty session; tgN decodes N tokens one at a time from an empty
// session. With -d D both start after D tokens of context (prefilled, not timed), shown as
// "tgN @ dD" as llama-bench does: attention's cost grows with the context. Each runs once to warm up, then r times: mean ± sample standard deviation of tokens/s.
// For tg, the weight bytes a decoded token reads times tokens/s is the effective GB/s;
// --bandwidth first measures this machine's read bandwidth for each thread count (a streaming sum
// over 1 GiB, best of 5) and shows tg's GB/s as a fraction of it. --config builds random weights
// of that shape directly in the chosen format (speed does not depend on the values).
// --parallel P1,P2 adds "tgN xP" rows: P sequences decoded together by a slim::Engine (continuous
// batching), each after its own -p prompt; aggregate tokens/s of all of them.
// --weights and -t take comma-separated lists; a thread count above the hardware threads is capped
// to them with a warning unless --threads-force.
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "progress_bar.hpp"
#include "slim/slim.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Read bandwidth in GB/s with `threads` threads: each sums its own slice of a 1 GiB buffer of
// 64-bit integers it first touched itself. Best of 5 passes. The buffer asks for transparent huge
// pages, as the library does for the weights it computes at load, so both read the same kind of
// memory.
double read_bandwidth(int threads) {
  constexpr size_t kBytes = size_t{1} << 30;
  constexpr size_t kCount = kBytes / sizeof(uint64_t);
  struct Free {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<void, Free> buffer(std::aligned_alloc(size_t{2} << 20, kBytes));
  if (!buffer) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
  ::madvise(buffer.get(), kBytes, MADV_HUGEPAGE);
#endif
  auto* data = static_cast<uint64_t*>(buffer.get());
  std::vector<uint64_t> sums(static_cast<size_t>(threads) * 8);  // a cache line each
  auto run = [&](bool init) {
    std::vector<std::thread> team;
    for (int t = 0; t < threads; ++t) {
      team.emplace_back([&, t] {
        const size_t begin = kCount * static_cast<size_t>(t) / static_cast<size_t>(threads);
        const size_t end = kCount * static_cast<size_t>(t + 1) / static_cast<size_t>(threads);
        if (init) {
          for (size_t i = begin; i < end; ++i) data[i] = i;
          return;
        }
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        size_t i = begin;
        for (; i + 4 <= end; i += 4) {
          s0 += data[i];
          s1 += data[i + 1];
          s2 += data[i + 2];
          s3 += data[i + 3];
        }
        for (; i < end; ++i) s0 += data[i];
        sums[static_cast<size_t>(t) * 8] = s0 + s1 + s2 + s3;
      });
    }
    for (auto& th : team) th.join();
  };
  run(true);
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const auto start = Clock::now();
    run(false);
    best = std::max(best, static_cast<double>(kBytes) / seconds_since(start) / 1e9);
  }
  uint64_t total = 0;
  for (uint64_t s : sums) total += s;
  if (total == 1) std::fputc(' ', stderr);  // keeps the sums observable
  return best;
}

struct Result {
  std::string test, weights;
  int threads = 0;
  double tokens_per_s = 0, sd = 0;
  uint64_t weight_bytes_per_token = 0;
  std::optional<double> gbps, bandwidth_gbps;
  int depth = 0;  // tokens of context before the test
  int parallel = 1;  // sequences decoded together (--parallel)
};

// Aggregate decode tokens/s of `parallel` sequences decoded together by an Engine, each after
// its own prompt of `prompt` tokens: the tokens emitted from the moment the last sequence has its
// first token (every prompt is in) to the end, over that time.
double parallel_decode_rate(const std::shared_ptr<const slim::Model>& model, int parallel, int threads, int prompt,
                            int gen, slim::DType kv_type, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(model->info().vocab_size - 1));
  const int64_t context = std::min<int64_t>(model->info().max_context, std::max(prompt, 1) + gen + 1);
  slim::Engine engine(model, {.slots = parallel, .context = context, .threads = threads,
                              .batch_tokens = std::max<int64_t>(256, parallel), .kv_type = kv_type});
  std::vector<std::vector<Clock::time_point>> times(static_cast<size_t>(parallel));
  std::vector<slim::GenerationHandle> handles;
  for (int i = 0; i < parallel; ++i) {
    std::vector<int32_t> ids(static_cast<size_t>(std::max(prompt, 1)));
    for (auto& t : ids) t = token(rng);
    auto* mine = &times[static_cast<size_t>(i)];
    handles.push_back(engine.submit({.prompt = ids,
                                     .options = {.max_tokens = gen, .stop_at_eos = false},
                                     .on_token = [mine](int32_t, std::span<const float>) {
                                       mine->push_back(Clock::now());  // the engine's thread only
                                       return true;
                                     }}));
  }
  for (auto& h : handles) h.wait();
  Clock::time_point start = times[0].front(), end = times[0].back();
  for (const auto& t : times) {
    start = std::max(start, t.front());
    end = std::max(end, t.back());
  }
  size_t after = 0;
  for (const auto& t : times) after += static_cast<size_t>(std::count_if(t.begin(), t.end(), [&](auto x) { return x > start; }));
  const double seconds = std::chrono::duration<double>(end - start).count();
  return seconds > 0 ? static_cast<double>(after) / seconds : 0.0;
}

// Mean and sample standard deviation.
std::pair<double, double> mean_sd(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0};
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures prefill (ppN) and decode (tgN) speed in tokens/s", "slim-bench"};
  slim::cli::ModelArgs model_args;  // path, no_mmap, threads_force; --weights and -t take lists here
  std::string config, weights_list, threads_list = "1,2", parallel_list;
  int prompt = 512, gen = 128, reps = 5, depth = 0;
  uint64_t seed = 0;
  bool json = false, bandwidth = false;
  const auto zero_or_more = slim::cli::at_least(0);
  auto* model_opt = slim::cli::add_model_option(app, model_args.path);
  auto* config_opt = app.add_option("--config", config, "config.json: random weights of this shape")
                         ->check(CLI::ExistingFile);
  model_opt->excludes(config_opt);
  app.add_option("--weights", weights_list,
                 "as_stored, f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m, q5_k_m (comma-separated; default: as stored, f32 for --config)")
      ->check(slim::cli::each_of_list(slim::cli::weights_check()));
  app.add_option("-p,--n-prompt", prompt, "prompt tokens of the pp test (0 = none)")->check(zero_or_more);
  app.add_option("-n,--n-gen", gen, "decoded tokens of the tg test (0 = none)")->check(zero_or_more);
  app.add_option("-d,--depth", depth, "tokens of context prefilled (untimed) before each test")->check(zero_or_more);
  app.add_option("-t,--threads", threads_list,
                 "thread counts, comma-separated (more than the hardware has are capped, see --threads-force)")
      ->check(slim::cli::each_of_list(
          slim::cli::must_be<int>("comma-separated thread counts from 1 to 1024", [](int v) { return v >= 1 && v <= 1024; })));
  slim::cli::add_threads_force_option(app, model_args.threads_force);
  app.add_option("--parallel", parallel_list,
                 "also decode this many sequences together (comma-separated, e.g. 1,2,4,8,16), each after its own "
                 "-p prompt, and report their aggregate tg tokens/s")
      ->check(slim::cli::each_of_list(
          slim::cli::must_be<int>("comma-separated sequence counts from 1 to 256", [](int v) { return v >= 1 && v <= 256; })));
  app.add_option("-r,--repetitions", reps, "measured runs of each test")->check(slim::cli::at_least(1));
  app.add_option("--seed", seed, "seed of --config's random weights and of the token ids");
  app.add_flag("--json", json, "print one JSON object instead of a table");
  app.add_flag("--bandwidth", bandwidth, "measure the read bandwidth first and relate tg to it");
  slim::cli::add_no_mmap_option(app, model_args.no_mmap);
  slim::cli::add_kv_type_option(app, model_args.kv_type);
  app.footer(slim::cli::examples(
      {"build/examples/slim-bench --model ../shared/models/stories260K --weights q8_0,q4_0 -p 64 -n 32 -t 1,2",
       "build/examples/slim-bench --config ../shared/configs/SmolLM2-135M.json --weights q4_0 -p 32 -n 8 -t 1 -r 1 "
       "--json"}));

  return slim::cli::run(app, argc, argv, [&]() -> int {
    const std::string& model_dir = model_args.path;
    if (model_dir.empty() && config.empty()) throw CLI::RequiredError("--model or --config");
    const slim::LogCallback log = slim::cli::stderr_log(app.get_name());
    std::vector<int> thread_counts;  // as given; a capped count is dropped when the list has it already
    bool warned = false;
    for (const auto& t : split(threads_list)) {
      const int asked = std::stoi(t);  // checked by -t
      const int n = slim::cli::usable_threads(asked, model_args.threads_force, warned ? slim::LogCallback{} : log);
      warned = warned || n != asked;
      if (n != asked && std::find(thread_counts.begin(), thread_counts.end(), n) != thread_counts.end()) continue;
      thread_counts.push_back(n);
    }
    std::vector<slim::WeightFormat> formats;
    for (const auto& w : split(weights_list.empty() ? "as_stored" : weights_list)) {
      formats.push_back(*slim::parse_weight_format(w));  // checked by --weights
    }
    const std::string shape = model_dir.empty() ? std::filesystem::path(config).stem().string()
                                                : std::filesystem::path(model_dir).filename().string();

    std::vector<double> bw(thread_counts.size());
    if (bandwidth) {
      for (size_t i = 0; i < thread_counts.size(); ++i) {
        bw[i] = read_bandwidth(thread_counts[i]);
        std::fprintf(stderr, "read bandwidth, %d thread%s: %.1f GB/s\n", thread_counts[i], thread_counts[i] > 1 ? "s" : "",
                     bw[i]);
      }
    }

    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::vector<Result> results;
    const int max_threads = *std::max_element(thread_counts.begin(), thread_counts.end());
    for (slim::WeightFormat format : formats) {
      std::shared_ptr<const slim::Model> model;
      const auto start = Clock::now();
      {
        slim::cli::ProgressBar bar(model_dir.empty() ? "generating" : "loading");
        slim::LoadOptions options = slim::cli::load_options(model_args, log);
        options.threads = max_threads;
        options.weights = format;
        options.progress = [&](float f) { bar.update(f); };
        model = model_dir.empty() ? slim::Model::random(config, options, seed) : slim::Model::load(model_dir, options);
      }
      // The format asked for (a mix such as q4_k_m is not the type of its embeddings); as stored,
      // the model's own type.
      const std::string weights(format == slim::WeightFormat::as_stored ? slim::dtype_name(model->weights_dtype())
                                                                        : slim::weight_format_name(format));
      std::fprintf(stderr, "%s %s: %s in %.1f ms, %.1f MB of weights read per token, KV cache %s\n", shape.c_str(),
                   weights.c_str(), model_dir.empty() ? "generated" : "loaded", seconds_since(start) * 1e3,
                   static_cast<double>(model->info().weight_bytes) / 1e6, std::string(slim::dtype_name(model_args.kv_type)).c_str());
      const int64_t context = std::min<int64_t>(model->info().max_context, depth + std::max({prompt, gen, 1}));
      if (context < depth + std::max(prompt, gen)) {
        throw slim::Error(slim::ErrorCode::invalid_argument,
                          "-d + -p / -n: " + std::to_string(depth + std::max(prompt, gen)) +
                              " tokens exceed the model's context of " + std::to_string(context));
      }
      slim::Session session(model, context, model_args.kv_type);
      std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(model->info().vocab_size - 1));

      for (size_t ti = 0; ti < thread_counts.size(); ++ti) {
        session.set_threads(thread_counts[ti]);
        for (const bool is_pp : {true, false}) {
          const int count = is_pp ? prompt : gen;
          if (count == 0) continue;
          std::vector<double> rates;
          for (int rep = 0; rep <= reps; ++rep) {  // rep 0 warms up
            std::vector<int32_t> tokens(static_cast<size_t>(count));
            for (auto& t : tokens) t = token(rng);
            session.reset();
            if (depth > 0) {
              std::vector<int32_t> context_tokens(static_cast<size_t>(depth));
              for (auto& t : context_tokens) t = token(rng);
              session.prefill(context_tokens);
            }
            const auto t0 = Clock::now();
            if (is_pp) {
              session.prefill(tokens);
            } else {
              for (int32_t t : tokens) session.decode(t);
            }
            if (rep > 0) rates.push_back(count / seconds_since(t0));
          }
          Result r;
          r.test = (is_pp ? "pp" : "tg") + std::to_string(count) + (depth > 0 ? " @ d" + std::to_string(depth) : "");
          r.depth = depth;
          r.weights = weights;
          r.threads = thread_counts[ti];
          std::tie(r.tokens_per_s, r.sd) = mean_sd(rates);
          r.weight_bytes_per_token = model->info().weight_bytes;
          if (!is_pp) r.gbps = static_cast<double>(r.weight_bytes_per_token) * r.tokens_per_s / 1e9;
          if (bandwidth) r.bandwidth_gbps = bw[ti];
          results.push_back(r);
          if (!json) {
            std::fprintf(stderr, "%s %s t=%d: %.2f ± %.2f tokens/s\n", r.test.c_str(), weights.c_str(), r.threads,
                         r.tokens_per_s, r.sd);
          }
        }
        if (gen == 0 || parallel_list.empty()) continue;
        for (const auto& p : split(parallel_list)) {
          const int parallel = std::stoi(p);  // checked by --parallel
          std::vector<double> rates;
          for (int rep = 0; rep <= reps; ++rep) {  // rep 0 warms up
            const double rate = parallel_decode_rate(model, parallel, thread_counts[ti], prompt, gen, model_args.kv_type, rng);
            if (rep > 0) rates.push_back(rate);
          }
          Result r;
          r.test = "tg" + std::to_string(gen) + " x" + std::to_string(parallel);
          r.parallel = parallel;
          r.weights = weights;
          r.threads = thread_counts[ti];
          std::tie(r.tokens_per_s, r.sd) = mean_sd(rates);
          r.weight_bytes_per_token = model->info().weight_bytes;
          // A step reads every weight once for all its sequences.
          r.gbps = static_cast<double>(r.weight_bytes_per_token) * r.tokens_per_s / parallel / 1e9;
          if (bandwidth) r.bandwidth_gbps = bw[ti];
          results.push_back(r);
          if (!json) {
            std::fprintf(stderr, "%s %s t=%d: %.2f ± %.2f tokens/s\n", r.test.c_str(), weights.c_str(),
                         r.threads, r.tokens_per_s, r.sd);
          }
        }
      }
    }

    if (json) {
      nlohmann::ordered_json out;
      out["shape"] = shape;
      out["results"] = nlohmann::ordered_json::array();
      for (const Result& r : results) {
        nlohmann::ordered_json j = {{"test", r.test},
                                    {"threads", r.threads},
                                    {"weights", r.weights},
                                    {"tokens_per_s", r.tokens_per_s},
                                    {"sd", r.sd},
                                    {"weight_bytes_per_token", r.weight_bytes_per_token},
                                    {"gbps", r.gbps ? nlohmann::ordered_json(*r.gbps) : nlohmann::ordered_json(nullptr)}};
        if (r.bandwidth_gbps) j["bandwidth_gbps"] = *r.bandwidth_gbps;
        if (r.depth > 0) j["depth"] = r.depth;
        j["parallel"] = r.parallel;
        j["kv_type"] = slim::dtype_name(model_args.kv_type);
        out["results"].push_back(j);
      }
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    std::printf("| shape | weights | threads | test | t/s | weights MB/token | GB/s |%s\n",
                bandwidth ? " read GB/s | of read bw |" : "");
    std::printf("| --- | --- | ---: | --- | ---: | ---: | ---: |%s\n", bandwidth ? " ---: | ---: |" : "");
    for (const Result& r : results) {
      std::printf("| %s | %s | %d | %s | %s ± %s | %s | %s |", shape.c_str(), r.weights.c_str(), r.threads, r.test.c_str(),
                  fixed(r.tokens_per_s, 2).c_str(), fixed(r.sd, 2).c_str(),
                  fixed(static_cast<double>(r.weight_bytes_per_token) / 1e6, 1).c_str(),
                  r.gbps ? fixed(*r.gbps, 2).c_str() : "-");
      if (bandwidth) {
        std::printf(" %s | %s |", fixed(*r.bandwidth_gbps, 1).c_str(),
                    r.gbps ? (fixed(100.0 * *r.gbps / *r.bandwidth_gbps, 0) + "%").c_str() : "-");
      }
      std::printf("\n");
    }
    return 0;
  });
}
