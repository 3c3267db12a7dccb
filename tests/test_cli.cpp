// The options every program that loads a model shares (examples/cli.hpp), end to end: each program
// runs with --weights q4_0, bad values get a sentence naming the option, --threads above the
// hardware threads is capped with one warning unless --threads-force, and the examples at the end
// of each --help run as printed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "program_runner.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using slim::test::program;
using slim::test::quoted;
using slim::test::run;

namespace {

fs::path stories() { return slim::test::shared_dir() / "models" / "stories260K"; }

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

size_t count(const std::string& s, const std::string& part) {
  size_t n = 0;
  for (size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

// The programs that load a model, each with the arguments and stdin of a short run on stories260K.
struct Program {
  std::string name, args;
};
std::vector<Program> model_programs(const slim::test::TempDir& dir) {
  std::ofstream(dir.path / "in.txt") << "Lily went to the park.\nShe saw a dog.\n";
  const std::string model = " --model " + quoted(stories());
  const std::string in = " < " + quoted(dir.path / "in.txt");
  const std::string file = " --file " + quoted(dir.path / "in.txt");
  return {{"slim-generate", model + " --prompt 'Once upon a time' --max-tokens 8"},
          {"slim-chat", model + " --max-tokens 8" + in},
          {"slim-complete", model + file + " --max-tokens 8"},
          {"slim-summarize", model + file + " --max-tokens 8"},
          {"slim-actions", model + file + " --max-tokens 8"},
          {"slim-bench", model + " -p 8 -n 4 -r 1"},
          {"slim-quantize", model + " --out " + quoted(dir.path / "out")}};
}

std::string command(const Program& p, const std::string& extra) { return quoted(program(p.name)) + p.args + extra; }

}  // namespace

TEST_CASE("every program runs stories260K with --weights q4_0", "[cli]") {
  slim::test::TempDir dir;
  for (const Program& p : model_programs(dir)) {
    INFO(p.name);
    auto r = run(command(p, " --weights q4_0 2>&1"));
    CHECK(r.status == 0);
    CHECK(!r.out.empty());
  }
  // slim-quantize's folder loads back, and slim-tokenize (no weights) prints ids.
  auto saved = run(quoted(program("slim-generate")) + " --model " + quoted(dir.path / "out") +
                   " --prompt 'Once upon a time' --max-tokens 8 2>/dev/null");
  CHECK(saved.status == 0);
  CHECK(saved.out.rfind("Once upon a time, there was", 0) == 0);
  auto ids = run("echo 'Once upon a time' | " + quoted(program("slim-tokenize")) + " --model " + quoted(stories()));
  CHECK(ids.status == 0);
  CHECK(ids.out.rfind("[1, ", 0) == 0);
}

TEST_CASE("bad model options get one sentence naming the option", "[cli]") {
  slim::test::TempDir dir;
  for (const Program& p : model_programs(dir)) {
    INFO(p.name);
    auto threads = run(command(p, " --weights q4_0 --threads -3 2>&1 >/dev/null"));
    CHECK(threads.status == 2);
    CHECK(lines(threads.out) == 1);
    CHECK(threads.out.rfind(p.name + ": --threads must be ", 0) == 0);
    CHECK(threads.out.find("not '-3'") != std::string::npos);
    if (p.name != "slim-bench") CHECK(threads.out.find("must be 0 (all cores) or more") != std::string::npos);

    auto weights = run(command(p, " --weights bogus 2>&1 >/dev/null"));
    CHECK(weights.status == 2);
    CHECK(lines(weights.out) == 1);
    CHECK(weights.out.find("--weights must be one of ") != std::string::npos);
    CHECK(weights.out.find("q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m, q5_k_m, not 'bogus'") != std::string::npos);
  }
  for (const Program& p : model_programs(dir)) {
    if (p.name == "slim-quantize") continue;  // no KV cache
    INFO(p.name);
    auto f16 = run(command(p, " --kv-type f16 2>/dev/null"));
    CHECK(f16.status == 0);
    CHECK(!f16.out.empty());
    auto kv = run(command(p, " --kv-type bf16 2>&1 >/dev/null"));
    CHECK(kv.status == 2);
    CHECK(lines(kv.out) == 1);
    CHECK(kv.out.find("--kv-type must be f32 or f16, not 'bf16'") != std::string::npos);
  }
  auto bench_list = run(command(model_programs(dir)[5], " --weights q8_0,q4_0,bogus 2>&1 >/dev/null"));
  CHECK(bench_list.status == 2);
  CHECK(bench_list.out.find("not 'bogus'") != std::string::npos);
  const std::string generate = quoted(program("slim-generate")) + " --model " + quoted(stories()) + " --prompt x";
  for (const char* bad : {"--context -1", "--max-tokens x", "--top-p 2", "--temp -1", "--repeat-penalty 0"}) {
    INFO(bad);
    auto r = run(generate + " " + bad + " 2>&1 >/dev/null");
    CHECK(r.status == 2);
    CHECK(r.out.find(" must be ") != std::string::npos);
    CHECK(r.out.find("179769") == std::string::npos);  // no 300-digit limits
  }
}

TEST_CASE("--threads above the hardware threads is capped with one warning", "[cli]") {
  const int hardware = static_cast<int>(std::thread::hardware_concurrency());
  REQUIRE(hardware > 0);
  slim::test::TempDir dir;
  for (const Program& p : model_programs(dir)) {
    INFO(p.name);
    auto r = run(command(p, " --weights q4_0 --threads 1000 2>&1 >/dev/null"));
    CHECK(r.status == 0);
    CHECK(count(r.out, "warning: --threads 1000 is more than the " + std::to_string(hardware) +
                           " hardware threads; using " + std::to_string(hardware)) == 1);
  }
  const std::string generate =
      quoted(program("slim-generate")) + " --model " + quoted(stories()) + " --prompt x --max-tokens 4";
  auto capped = run(generate + " --threads 1000 2>&1 >/dev/null");
  CHECK(capped.out.find(", " + std::to_string(hardware) + " threads\n") != std::string::npos);
  const std::string more = std::to_string(hardware + 1);
  auto forced = run(generate + " --threads " + more + " --threads-force 2>&1 >/dev/null");
  CHECK(forced.status == 0);
  CHECK(forced.out.find("warning") == std::string::npos);
  CHECK(forced.out.find(", " + more + " threads\n") != std::string::npos);
}

TEST_CASE("the examples at the end of each --help run as printed", "[cli]") {
  // A repository root as the examples expect it: build/examples/ and ../shared beside it; their
  // /tmp/ folders go into the test's own folder.
  slim::test::TempDir dir;
  fs::create_directories(dir.path / "root" / "build");
  fs::create_directory_symlink(program("slim-generate").parent_path(), dir.path / "root" / "build" / "examples");
  fs::create_directory_symlink(fs::absolute(slim::test::shared_dir()), dir.path / "shared");
  for (const char* name : {"slim-generate", "slim-chat", "slim-complete", "slim-summarize", "slim-actions",
                           "slim-tokenize", "slim-bench", "slim-quantize"}) {
    INFO(name);
    auto help = run(quoted(program(name)) + " --help");
    REQUIRE(help.status == 0);
    const size_t at = help.out.find("\nExamples (from the repository root, with ../shared beside it):\n");
    REQUIRE(at != std::string::npos);
    std::istringstream examples(help.out.substr(help.out.find('\n', at + 1) + 1));
    std::string line;
    int ran = 0;
    while (std::getline(examples, line)) {
      REQUIRE(line.rfind("  ", 0) == 0);
      line = line.substr(2);
      INFO(line);
      CHECK(line.find("build/examples/slim-") != std::string::npos);
      const std::string tmp = (dir.path / "").string();
      for (size_t p = line.find("/tmp/"); p != std::string::npos; p = line.find("/tmp/", p + tmp.size())) {
        line.replace(p, 5, tmp);
      }
      // One line of input for a program that reads stdin (slim-chat); an example's own pipe, in
      // the subshell, comes before it.
      auto r = run("cd " + quoted(dir.path / "root") + " && printf 'Hello\\n' | (" + line + ") 2>&1");
      CHECK(r.status == 0);
      CHECK(!r.out.empty());
      ++ran;
    }
    CHECK(ran >= 1);
    CHECK(ran <= 2);
  }
}
