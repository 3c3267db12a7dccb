// slim-quantize: converts a model folder's weights to q4_0, q8_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k (or
// the q4_k_m / q5_k_m mixes), bf16, f16 or f32 and writes a folder that Model::load maps back without
// converting again (docs/quantized_format.md). The
// tokenizer and the other small files of the folder are copied. With --config instead of --model it writes
// random weights of that shape (for benchmarks of load time and the like). An --out ending in
// .gguf writes one GGUF file instead (tokenizer inside; --weights as_stored keeps the types); a GGUF
// file's folder gets the tokenizer.json and tokenizer_config.json made from its keys.
//   slim-quantize (--model DIR | --config CONFIG.json) --weights q4_0|q8_0|q4_1|q5_0|q5_1|q4_k|q5_k|q6_k|bf16|f16|f32 --out DIR2 [-t N] [--no-mmap]
//   slim-quantize --model DIR --weights as_stored|q4_0|q8_0|q4_1|q5_0|q5_1|q4_k|q5_k|q6_k|bf16|f16|f32 --out FILE.gguf
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "cli.hpp"
#include "progress_bar.hpp"
#include "slim/slim.hpp"

namespace fs = std::filesystem;

namespace {

// Files that hold weights in some format: never copied (the new model.safetensors replaces them).
bool is_weights_file(const fs::path& p) {
  static const std::set<std::string> extensions = {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf",
                                                   ".h5", ".msgpack", ".onnx", ".npz"};
  const std::string name = p.filename().string();
  return extensions.count(p.extension().string()) != 0 || name == "model.safetensors.index.json" ||
         name == "pytorch_model.bin.index.json";
}

// The small non-weight files of the folder (tokenizer, generation config, ...), not config.json,
// which Model::save writes.
int copy_other_files(const fs::path& from, const fs::path& to) {
  constexpr uintmax_t kMaxBytes = uintmax_t{64} << 20;
  int copied = 0;
  for (const auto& entry : fs::directory_iterator(from)) {
    if (!entry.is_regular_file() || is_weights_file(entry.path()) || entry.path().filename() == "config.json") continue;
    if (entry.file_size() > kMaxBytes) {
      std::fprintf(stderr, "slim-quantize: not copying %s (over 64 MiB)\n", entry.path().filename().c_str());
      continue;
    }
    const fs::path dest = to / entry.path().filename();
    fs::copy_file(entry.path(), dest, fs::copy_options::overwrite_existing);
    fs::permissions(dest, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
    ++copied;
  }
  return copied;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Converts a model's weights to q4_0, q8_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m, q5_k_m, bf16, f16 or f32 and writes them as a model folder or a GGUF file", "slim-quantize"};
  slim::cli::ModelArgs model_args;  // path, weights, threads, no_mmap
  std::string config, out;
  uint64_t seed = 0;
  auto* model_opt = slim::cli::add_model_option(app, model_args.path);
  auto* config_opt = app.add_option("--config", config, "config.json: random weights of this shape instead")
                         ->check(CLI::ExistingFile);
  model_opt->excludes(config_opt);
  slim::cli::add_weights_option(app, model_args.weights)->required();
  app.add_option("--out", out, "folder to write (created), or a GGUF file (FILE.gguf)")->required();
  slim::cli::add_threads_option(app, model_args.threads, "-t,--threads");
  slim::cli::add_threads_force_option(app, model_args.threads_force);
  slim::cli::add_no_mmap_option(app, model_args.no_mmap);
  app.add_option("--seed", seed, "seed of --config's random weights");
  app.footer(slim::cli::examples(
      {"build/examples/slim-quantize --model ../shared/models/stories260K --weights q4_0 --out /tmp/stories260K-q4_0",
       "build/examples/slim-quantize --model ../shared/models/stories260K --weights q8_0 --out /tmp/stories260K-q8_0.gguf"}));

  return slim::cli::run(app, argc, argv, [&] {
    if (model_args.path.empty() && config.empty()) throw CLI::RequiredError("--model or --config");
    const bool gguf = fs::path(out).extension() == ".gguf";
    if (!gguf && model_args.weights == slim::WeightFormat::as_stored) {
      std::fprintf(stderr, "slim-quantize: --weights as_stored needs --out FILE.gguf; a folder is written converted (see --help)\n");
      return 2;
    }
    std::shared_ptr<const slim::Model> model;
    {
      slim::cli::ProgressBar bar(config.empty() ? "quantizing" : "generating");
      slim::LoadOptions options = slim::cli::load_options(model_args, slim::cli::stderr_log(app.get_name()));
      options.progress = [&](float f) { bar.update(f); };
      model = config.empty() ? slim::Model::load(model_args.path, options) : slim::Model::random(config, options, seed);
    }
    {
      slim::cli::ProgressBar bar("writing");
      model->save(out, [&](float f) { bar.update(f); });
    }
    // A GGUF file holds its tokenizer inside: nothing beside it is copied.
    const int copied = !gguf && config.empty() && fs::is_directory(model_args.path) ? copy_other_files(model_args.path, out) : 0;
    std::fprintf(stderr, "slim-quantize: wrote %s (%s weights, %.1f MB read per token; %d other files copied)\n",
                 out.c_str(), std::string(slim::weight_format_name(model_args.weights)).c_str(),
                 static_cast<double>(model->info().weight_bytes) / 1e6, copied);
    return 0;
  });
}
