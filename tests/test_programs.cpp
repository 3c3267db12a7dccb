// The example programs end to end on the real stories260K model and a fixture: exit status, output
// and the contracts other tools read (slim-generate's --logits-out JSON).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "program_runner.hpp"
#include "test_support.hpp"
#include "tiny_models.hpp"

namespace fs = std::filesystem;
using slim::test::program;
using slim::test::quoted;
using slim::test::run;

namespace {

fs::path stories() { return slim::test::shared_dir() / "models" / "stories260K"; }

fs::path temp_file(const std::string& name, const std::string& content) {
  const fs::path p = fs::temp_directory_path() / ("slim_programs_" + std::to_string(getpid()) + "_" + name);
  std::ofstream(p) << content;
  return p;
}

std::string with_model(const std::string& name, const fs::path& model) {
  return quoted(program(name)) + " --model " + quoted(model) + " --threads 1";
}

}  // namespace

TEST_CASE("slim-generate writes the reference story after the prompt", "[programs]") {
  const std::string story = with_model("slim-generate", stories()) + " --prompt 'Once upon a time' --max-tokens 12";
  auto r = run(story + " 2>/dev/null");
  CHECK(r.status == 0);
  CHECK(r.out.rfind("Once upon a time, there was a little girl named Lily", 0) == 0);
  auto continuation = run(story + " --no-echo 2>/dev/null");
  CHECK(continuation.status == 0);
  CHECK(continuation.out.rfind(", there was a little girl named Lily", 0) == 0);
  CHECK("Once upon a time" + continuation.out == r.out);
  // A continuation that starts a new word keeps its space after the echoed prompt.
  CHECK(run(with_model("slim-generate", stories()) + " --prompt 'Once upon a' --max-tokens 4 2>/dev/null").out.rfind("Once upon a time", 0) == 0);
}

TEST_CASE("slim-generate echoes only a plain --prompt", "[programs]") {
  // --ids and --logits-out outputs are read by other tools; --chat prints only the reply.
  const fs::path logits = temp_file("echo_logits.json", "");
  const std::string generate = with_model("slim-generate", stories()) + " --max-tokens 8";
  const std::vector<std::string> runs = {" --ids 1,403,407,261,378", " --prompt 'Once upon a time' --chat",
                                         " --prompt 'Once upon a time' --logits-out " + quoted(logits)};
  for (const std::string& args : runs) {
    INFO(args);
    auto echo = run(generate + args + " 2>/dev/null");
    auto no_echo = run(generate + args + " --no-echo 2>/dev/null");
    CHECK(echo.status == 0);
    CHECK(no_echo.status == 0);
    CHECK(!echo.out.empty());
    CHECK(echo.out == no_echo.out);
  }
  fs::remove(logits);
}

TEST_CASE("slim-generate --ids --logits-out gives transformers' logits", "[programs]") {
  const fs::path dir = slim::test::shared_dir() / "fixtures" / "models" / "qwen2";
  const auto expected = slim::test::read_json(dir / "expected.json");
  std::string ids;
  for (const auto& id : expected["input_ids"]) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(id.get<int>());
  }
  const fs::path out = temp_file("logits.json", "");
  auto r = run(with_model("slim-generate", dir) + " --ids " + ids + " --max-tokens 16 --ignore-eos --logits-out " +
               quoted(out) + " 2>/dev/null");
  REQUIRE(r.status == 0);
  const auto got = slim::test::read_json(out);
  fs::remove(out);
  CHECK(got["input_ids"] == expected["input_ids"]);
  CHECK(got["new_tokens"] == expected["greedy"]["new_tokens"]);
  REQUIRE(got["logits"].size() == expected["logits"].size());
  double worst = 0;
  for (size_t p = 0; p < got["logits"].size(); ++p)
    for (size_t v = 0; v < got["logits"][p].size(); ++v)
      worst = std::max(worst, std::abs(got["logits"][p][v].get<double>() - expected["logits"][p][v].get<double>()));
  CHECK(worst < 1e-4);
}

TEST_CASE("slim-chat holds a conversation from a pipe", "[programs]") {
  auto r = run("printf 'Tell me a story\\n/reset\\nHello\\n/quit\\nignored\\n' | " + with_model("slim-chat", stories()) +
               " --max-tokens 8 2>/dev/null");
  CHECK(r.status == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 2);  // two replies, one line each
}

TEST_CASE("slim-complete, slim-summarize and slim-actions run", "[programs]") {
  const fs::path prefix = temp_file("prefix.txt", "Once upon a time");
  const fs::path text = temp_file("text.txt", "Lily went to the park.\nShe saw a dog.\nThe dog was happy.\n");
  auto complete = run(with_model("slim-complete", stories()) + " --file " + quoted(prefix) + " --max-tokens 8 2>&1");
  CHECK(complete.status == 0);
  CHECK(complete.out.find("time to first token") != std::string::npos);
  auto summary = run(with_model("slim-summarize", stories()) + " --file " + quoted(text) + " --max-tokens 8 2>&1");
  CHECK(summary.status == 0);
  CHECK(summary.out.find("tokens/s") != std::string::npos);
  auto actions = run(with_model("slim-actions", stories()) + " --file " + quoted(text) + " --max-tokens 8 2>&1");
  CHECK(actions.status == 0);
  CHECK(actions.out.find("chunk 3:") != std::string::npos);
  CHECK(actions.out.find("cut off before its JSON ended") != std::string::npos);
  // Given room, the answer is a document of the action items schema (docs/structured_output.md),
  // greedy and sampled: stories260K (its greedy answer is an empty list) and a random model with
  // Qwen2.5's tokenizer, whose longer tokens and context let the sampled lists end.
  slim::test::TempDir tmp;
  const std::string qwen = slim::test::make_qwen_tokenizer_model(tmp.path / "qwen").string();
  size_t items = 0;
  for (const auto& [model, sampling] : std::vector<std::pair<std::string, std::string>>{
           {stories(), ""}, {qwen, ""}, {qwen, " --temp 1 --top-k 40 --seed 1"}, {qwen, " --temp 1 --top-k 40 --seed 2"}}) {
    auto whole = run(with_model("slim-actions", model) + " --file " + quoted(text) + " --max-tokens 1500" + sampling + " 2>/dev/null");
    INFO(whole.out);
    REQUIRE(whole.status == 0);
    const auto doc = nlohmann::json::parse(whole.out);
    REQUIRE(doc.is_object());
    CHECK(doc.size() == 1);
    REQUIRE(doc["action_items"].is_array());
    CHECK(doc["action_items"].size() <= 10);
    const auto chars = [](const std::string& s) { return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }); };
    items += doc["action_items"].size();
    for (const auto& item : doc["action_items"]) {
      REQUIRE(item.is_object());
      CHECK(item.size() == 3);
      CHECK((item["owner"].is_string() && chars(item["owner"]) >= 1 && chars(item["owner"]) <= 40));
      CHECK((item["task"].is_string() && chars(item["task"]) >= 1 && chars(item["task"]) <= 120));
      CHECK((item["due"].is_null() || (item["due"].is_string() && chars(item["due"]) <= 30)));
    }
  }
  CHECK(items > 0);
  fs::remove(prefix);
  fs::remove(text);
}

TEST_CASE("programs fail with one line and a non-zero status", "[programs]") {
  for (const char* name : {"slim-generate", "slim-chat", "slim-complete", "slim-summarize", "slim-actions"}) {
    INFO(name);
    CHECK(run(quoted(program(name)) + " --help >/dev/null").status == 0);
    auto missing = run(quoted(program(name)) + " --model /nonexistent --prompt x --file /nonexistent 2>&1 </dev/null");
    CHECK(missing.status != 0);
    CHECK(std::count(missing.out.begin(), missing.out.end(), '\n') == 1);
    CHECK(run(quoted(program(name)) + " --bogus 2>/dev/null </dev/null").status != 0);
  }
  auto overflow = run(with_model("slim-generate", stories()) + " --prompt 'Once upon a time' --context 3 2>&1");
  CHECK(overflow.status != 0);
  CHECK(overflow.out.find("context") != std::string::npos);
}

TEST_CASE("slim-generate --json-schema, --regex, --json and --grammar constrain the output", "[programs]") {
  const fs::path schema = temp_file("person.schema.json",
                                    R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 12},
                                        "age": {"type": "integer", "minimum": 1, "maximum": 99}}, "required": ["name", "age"]})");
  const std::string gen = with_model("slim-generate", stories()) + " --prompt 'Once upon a time' --no-echo --max-tokens 80";
  auto r = run(gen + " --json-schema " + schema.string() + " 2>/dev/null");
  CHECK(r.status == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["name"].is_string());
  CHECK((doc["age"].get<int>() >= 1 && doc["age"].get<int>() <= 99));
  auto re = run(gen + " --regex '(yes|no), [a-z]+\\.' --temp 0.8 --seed 3 2>/dev/null");
  CHECK(re.status == 0);
  CHECK((re.out.rfind("yes, ", 0) == 0 || re.out.rfind("no, ", 0) == 0));
  CHECK(nlohmann::json::accept(run(gen + " --json --temp 1 --seed 2 2>/dev/null").out));
  const fs::path gbnf = temp_file("digits.gbnf", "root ::= [0-9]{3} \"!\"\n");
  CHECK(run(gen + " --grammar " + gbnf.string() + " 2>/dev/null").out.size() == 5);  // 3 digits, '!', newline
  // Bad input is an error message, not a crash; two constraints at once are refused.
  const fs::path bad = temp_file("bad.schema.json", R"({"type": "string", "format": "email"})");
  CHECK(run(gen + " --json-schema " + bad.string() + " 2>/dev/null").status != 0);
  CHECK(run(gen + " --json --regex a 2>/dev/null").status != 0);
}
