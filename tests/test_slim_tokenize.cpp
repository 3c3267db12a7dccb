// slim-tokenize (examples/) end to end: --jsonl on cases of the mistral fixture gives the fixture's
// ids, with and without the special tokens; bad arguments and a bad folder fail with a message.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "program_runner.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using slim::test::quoted;
using slim::test::Run;
using slim::test::run;

namespace {
fs::path program() { return slim::test::program("slim-tokenize"); }
}  // namespace

TEST_CASE("slim-tokenize --jsonl gives the fixture's ids") {
  const fs::path dir = slim::test::shared_dir() / "fixtures" / "tokenizers" / "mistral";
  const nlohmann::json cases = slim::test::read_json(dir / "cases.json")["cases"];
  const fs::path input = fs::temp_directory_path() / ("slim_tokenize_" + std::to_string(getpid()) + ".jsonl");
  std::vector<size_t> picked;
  {
    std::ofstream out(input);
    for (size_t i = 0; i < cases.size() && picked.size() < 60; i += 7) {
      out << nlohmann::json(cases[i]["text"]).dump() << "\n";
      picked.push_back(i);
    }
    for (size_t i = 41; i <= 45; ++i) {  // special-token strings
      out << nlohmann::json(cases[i]["text"]).dump() << "\n";
      picked.push_back(i);
    }
  }
  for (const bool special : {true, false}) {
    const Run r = run(quoted(program()) + " --model " + quoted(dir) + " --jsonl" +
                      (special ? "" : " --no-special") + " < " + quoted(input));
    REQUIRE(r.status == 0);
    std::istringstream lines(r.out);
    std::string line;
    size_t k = 0;
    for (; std::getline(lines, line); ++k) {
      REQUIRE(k < picked.size());
      const auto got = nlohmann::json::parse(line).at("ids").get<std::vector<int32_t>>();
      const auto& c = cases[picked[k]];
      INFO("case " << picked[k] << " " << c["text"].dump() << (special ? "" : " --no-special"));
      CHECK(got == c[special ? "ids" : "ids_no_special"].get<std::vector<int32_t>>());
    }
    CHECK(k == picked.size());
  }
  fs::remove(input);
}

TEST_CASE("slim-tokenize reads plain stdin and prints a JSON array") {
  const fs::path dir = slim::test::shared_dir() / "models" / "stories260K";
  const Run r = run("printf 'Once upon a time' | " + quoted(program()) + " --model " + quoted(dir));
  REQUIRE(r.status == 0);
  const auto ids = nlohmann::json::parse(r.out).get<std::vector<int32_t>>();
  REQUIRE(ids.size() > 1);
  CHECK(ids.front() == 1);  // BOS
}

TEST_CASE("slim-tokenize rejects bad arguments and folders") {
  CHECK(run(quoted(program()) + " --bogus 2>/dev/null").status != 0);
  CHECK(run(quoted(program()) + " 2>/dev/null </dev/null").status != 0);
  const Run missing = run(quoted(program()) + " --model /nonexistent/model 2>&1 </dev/null");
  CHECK(missing.status != 0);
  CHECK(missing.out.find("/nonexistent/model") != std::string::npos);
  CHECK(std::count(missing.out.begin(), missing.out.end(), '\n') == 1);
  CHECK(run(quoted(program()) + " --help").status == 0);
}
