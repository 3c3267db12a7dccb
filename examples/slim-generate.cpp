// slim-generate: greedy text generation from a Hugging Face model folder.
//   slim-generate --model DIR (--prompt TEXT | --ids 1,2,3) [--max-tokens N] [--threads N]
//                 [--logits-out FILE] [--ignore-eos]
// Streams the text to stdout as it is produced and prints prompt and generation speed on stderr.
// --logits-out writes {"input_ids": [...], "logits": [[...] per prompt position], "new_tokens": [...]}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "slim/slim.hpp"
#include "slim/tokenizer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

void write_logits(const std::string& path, const std::vector<int32_t>& input, std::span<const float> logits,
                  int64_t vocab, const std::vector<int32_t>& generated) {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t p = 0; p < input.size(); ++p) {
    rows.push_back(std::vector<float>(logits.begin() + static_cast<std::ptrdiff_t>(p * vocab),
                                      logits.begin() + static_cast<std::ptrdiff_t>((p + 1) * vocab)));
  }
  nlohmann::json out = {{"input_ids", input}, {"logits", rows}, {"new_tokens", generated}};
  std::ofstream f(path);
  if (!f) throw slim::Error(slim::ErrorCode::io, path + ": cannot open for writing");
  f << out.dump() << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Greedy text generation with slim", "slim-generate");
  std::string model_dir, prompt, logits_out;
  std::vector<int32_t> ids;
  int max_tokens = 128, threads = 0;
  bool ignore_eos = false;
  app.add_option("--model", model_dir, "Hugging Face model folder")->required();
  auto* prompt_opt = app.add_option("--prompt", prompt, "prompt text (encoded with the model's tokenizer, BOS added)");
  auto* ids_opt = app.add_option("--ids", ids, "prompt as token ids, e.g. 1,2,3 (no BOS added)")->delimiter(',');
  prompt_opt->excludes(ids_opt);
  app.add_option("--max-tokens", max_tokens, "tokens to generate")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", threads, "threads (0 = all hardware threads)")->check(CLI::NonNegativeNumber);
  app.add_option("--logits-out", logits_out, "write prompt logits and generated ids as JSON to this file");
  app.add_flag("--ignore-eos", ignore_eos, "keep generating after an end-of-sequence token");

  return slim::cli::run(app, argc, argv, [&]() -> int {
    if (prompt_opt->count() == 0 && ids_opt->count() == 0) {
      throw CLI::RequiredError("--prompt or --ids");
    }
    auto model = slim::Model::load(model_dir, {.threads = threads});
    const auto& info = model->info();

    // A folder without tokenizer.json can still run on ids; the output is then ids too.
    std::optional<slim::Tokenizer> tokenizer;
    if (prompt_opt->count() || std::filesystem::exists(std::filesystem::path(model_dir) / "tokenizer.json")) {
      tokenizer = slim::Tokenizer::load(model_dir);
    }
    if (prompt_opt->count()) ids = tokenizer->encode(prompt);
    if (ids.empty()) throw slim::Error(slim::ErrorCode::invalid_argument, "the prompt has no tokens");

    std::vector<int32_t> eos = info.eos_ids;
    if (tokenizer && tokenizer->eos_id()) eos.push_back(*tokenizer->eos_id());

    const int64_t context = std::min<int64_t>(info.max_context, static_cast<int64_t>(ids.size()) + max_tokens);
    if (static_cast<int64_t>(ids.size()) > context) {
      throw slim::Error(slim::ErrorCode::context_overflow,
                        "the prompt has " + std::to_string(ids.size()) + " tokens; the model's context is " +
                            std::to_string(info.max_context));
    }
    slim::Session session(model, context);

    const auto t0 = Clock::now();
    auto logits = session.prefill(ids, /*all_logits=*/!logits_out.empty());
    const double prefill_s = seconds_since(t0);
    std::vector<float> prompt_logits;
    if (!logits_out.empty()) prompt_logits.assign(logits.begin(), logits.end());
    std::span<const float> last = logits.subspan(logits.size() - static_cast<size_t>(info.vocab_size));

    std::optional<slim::Tokenizer::StreamDecoder> stream;
    if (tokenizer) stream = tokenizer->stream_decoder();
    std::vector<int32_t> generated;
    const auto t1 = Clock::now();
    while (static_cast<int>(generated.size()) < max_tokens) {
      const int32_t next = argmax(last);
      generated.push_back(next);
      if (!ignore_eos && std::find(eos.begin(), eos.end(), next) != eos.end()) break;
      if (stream) {
        std::fputs(stream->push(next).c_str(), stdout);
      } else {
        std::printf("%s%d", generated.size() > 1 ? " " : "", next);
      }
      std::fflush(stdout);
      if (static_cast<int>(generated.size()) == max_tokens || session.position() == context) break;
      last = session.decode(next);
    }
    if (stream) std::fputs(stream->finish().c_str(), stdout);
    std::fputs("\n", stdout);
    const double decode_s = seconds_since(t1);

    if (!logits_out.empty()) write_logits(logits_out, ids, prompt_logits, info.vocab_size, generated);
    std::fprintf(stderr, "prompt: %zu tokens in %.3f s (%.1f tokens/s)\n", ids.size(), prefill_s,
                 static_cast<double>(ids.size()) / prefill_s);
    std::fprintf(stderr, "generation: %zu tokens in %.3f s (%.1f tokens/s), %d threads\n", generated.size(),
                 decode_s, static_cast<double>(generated.size()) / decode_s, model->threads());
    return 0;
  });
}
