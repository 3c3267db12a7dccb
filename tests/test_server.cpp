// slim-server over HTTP: a real server process on a loopback port (tests/server_process.hpp),
// its endpoints, its errors (each an OpenAI error object, the server healthy after it), its
// limits, concurrent streams and disconnecting clients.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "server_process.hpp"
#include "slim/grammar.hpp"
#include "slim/slim.hpp"
#include "test_support.hpp"
#include "tiny_models.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;
using slim::test::ServerProcess;

namespace {

std::string stories() { return (slim::test::shared_dir() / "models" / "stories260K").string(); }

Json post(const ServerProcess& s, const std::string& path, const std::string& body, int want = 200,
          const httplib::Headers& headers = {}) {
  auto res = s.client().Post(path.c_str(), headers, body, "application/json");
  REQUIRE(res);
  INFO(path << " " << body.substr(0, 200) << " -> " << res->body.substr(0, 400));
  CHECK(res->status == want);
  return Json::parse(res->body);
}

// A streamed answer's SSE events: the JSON of each `data:` line, and whether [DONE] ended them.
struct Stream {
  int status = 0;
  std::vector<Json> events;
  bool done = false;
  std::string error;  // what was wrong with the answer, if anything
};

// No Catch2 assertion here (the concurrency test calls it from many threads): what is wrong with
// the answer is in `error`.
Stream stream(const ServerProcess& s, const std::string& path, const std::string& body) {
  std::string raw;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    raw.append(data, n);
    return true;
  };
  Stream out;
  auto res = s.client().send(req);
  if (!res) {
    out.error = "no answer: " + httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  size_t at = 0;
  for (size_t end; (end = raw.find("\n\n", at)) != std::string::npos; at = end + 2) {
    const std::string event = raw.substr(at, end - at);
    if (event.rfind(':', 0) == 0) continue;  // an SSE comment (the server's keep-alive)
    if (event.rfind("data: ", 0) != 0 || out.done) {  // nothing after [DONE]
      out.error = "not an SSE data event: " + event;
    } else if (event == "data: [DONE]") {
      out.done = true;
    } else {
      out.events.push_back(Json::parse(event.substr(6)));
    }
  }
  if (at != raw.size()) out.error = "a partial event at the end: " + raw.substr(at);
  return out;
}

// The text of a chat or completion stream, its deltas joined.
std::string stream_text(const Stream& s) {
  std::string text;
  for (const Json& e : s.events) {
    if (e["choices"].empty()) continue;
    const Json& c = e["choices"][0];
    if (c.contains("delta")) {
      if (c["delta"].contains("content")) text += c["delta"]["content"].get<std::string>();
    } else {
      text += c["text"].get<std::string>();
    }
  }
  return text;
}

void check_error(const Json& body, const std::string& code) {
  INFO(body.dump());
  REQUIRE(body.contains("error"));
  const Json& e = body["error"];
  CHECK(e["message"].is_string());
  CHECK(!e["message"].get<std::string>().empty());
  CHECK(e["type"].is_string());
  CHECK(e.contains("param"));
  CHECK(e["code"] == code);
}

void check_healthy(const ServerProcess& s) {
  auto res = s.client().Get("/health");
  REQUIRE(res);
  CHECK(res->status == 200);
}

// A Prometheus gauge's value from /metrics.
double metric(const ServerProcess& s, const std::string& name) {
  auto res = s.client().Get("/metrics");
  REQUIRE(res);
  // The line "NAME VALUE" (std::regex is avoided: GCC 12 warns inside it under ASan builds).
  const std::string& body = res->body;
  size_t at = 0;
  while (at < body.size() && body.compare(at, name.size() + 1, name + " ") != 0) {
    at = body.find('\n', at);
    at = at == std::string::npos ? body.size() : at + 1;
  }
  REQUIRE(at < body.size());
  return std::stod(body.substr(at + name.size() + 1, body.find('\n', at) - at - name.size() - 1));
}

// Waits (up to a minute) for a condition the server reaches on its own.
template <class Fn>
bool eventually(Fn fn) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fn()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string completion(const std::string& prompt, int max_tokens, bool stream = false) {
  return Json{{"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0}, {"stream", stream}}.dump();
}

}  // namespace

TEST_CASE("slim-server answers every endpoint", "[server]") {
  ServerProcess s({"--model", stories(), "--threads", "1", "--parallel", "8"});

  auto health = s.client().Get("/health");
  REQUIRE(health);
  CHECK(Json::parse(health->body)["status"] == "ok");
  auto models = s.client().Get("/v1/models");
  REQUIRE(models);
  CHECK(models->status == 200);
  CHECK(Json::parse(models->body)["data"][0]["id"] == "stories260K");

  SECTION("completions: text, token ids, echo, stop") {
    const Json r = post(s, "/v1/completions", completion("Once upon a time", 12));
    CHECK(r["object"] == "text_completion");
    const std::string text = r["choices"][0]["text"];
    CHECK(text.rfind(", there was a little girl named Lily", 0) == 0);
    CHECK(r["choices"][0]["finish_reason"] == "length");
    CHECK(r["usage"]["completion_tokens"] == 12);
    CHECK(r["usage"]["prompt_tokens"] == 5);
    CHECK(r["usage"]["total_tokens"] == 17);

    const Json ids = post(s, "/tokenize", R"({"content": "Once upon a time", "add_special": true})")["tokens"];
    CHECK(ids.size() == 5);
    const Json by_ids = post(s, "/v1/completions", Json{{"prompt", ids}, {"max_tokens", 12}, {"temperature", 0}}.dump());
    CHECK(by_ids["choices"][0]["text"] == text);
    CHECK(post(s, "/detokenize", Json{{"tokens", ids}}.dump())["content"] == "<s> Once upon a time");

    Json echo = Json::parse(completion("Once upon a time", 12));
    echo["echo"] = true;
    CHECK(post(s, "/v1/completions", echo.dump())["choices"][0]["text"] == "Once upon a time" + text);

    Json stop = Json::parse(completion("Once upon a time", 12));
    stop["stop"] = {"Lily"};
    const Json stopped = post(s, "/v1/completions", stop.dump());
    CHECK(stopped["choices"][0]["text"] == ", there was a little girl named ");
    CHECK(stopped["choices"][0]["finish_reason"] == "stop");

    const Stream st = stream(s, "/v1/completions", completion("Once upon a time", 12, true));
    CHECK(st.error == "");
    CHECK(st.status == 200);
    CHECK(st.done);
    CHECK(stream_text(st) == text);
    CHECK(st.events.back()["choices"][0]["finish_reason"] == "length");
  }

  SECTION("chat completions, whole and streamed, with usage") {
    const std::string messages = R"("messages": [{"role": "system", "content": "You tell stories."},
      {"role": "user", "content": [{"type": "text", "text": "Tell me"}, {"type": "text", "text": "a story"}]}])";
    const Json r = post(s, "/v1/chat/completions", "{" + messages + R"(, "max_tokens": 6, "temperature": 0})");
    CHECK(r["object"] == "chat.completion");
    CHECK(r["choices"][0]["message"]["role"] == "assistant");
    CHECK(r["choices"][0]["finish_reason"] == "length");
    CHECK(r["usage"]["completion_tokens"] == 6);
    const std::string text = r["choices"][0]["message"]["content"];
    // A stop string taken from that text ends the same request there, with finish_reason stop.
    REQUIRE(text.size() >= 4);
    const std::string stop = text.substr(2, 2);
    const Json stopped = post(s, "/v1/chat/completions",
                              "{" + messages + R"(, "max_tokens": 6, "temperature": 0, "stop": )" + Json(stop).dump() + "}");
    CHECK(stopped["choices"][0]["message"]["content"] == text.substr(0, text.find(stop)));
    CHECK(stopped["choices"][0]["finish_reason"] == "stop");

    const Stream st = stream(s, "/v1/chat/completions", "{" + messages +
                                                            R"(, "max_tokens": 6, "temperature": 0, "stream": true,
                                                             "stream_options": {"include_usage": true}})");
    CHECK(st.error == "");
    CHECK(st.status == 200);
    CHECK(st.done);
    REQUIRE(st.events.size() >= 3);
    CHECK(st.events[0]["object"] == "chat.completion.chunk");
    CHECK(st.events[0]["choices"][0]["delta"]["role"] == "assistant");
    CHECK(stream_text(st) == text);
    // The finish chunk, then the usage chunk with no choices.
    CHECK(st.events[st.events.size() - 2]["choices"][0]["finish_reason"] == "length");
    CHECK(st.events.back()["choices"].empty());
    CHECK(st.events.back()["usage"]["completion_tokens"] == 6);
    CHECK(st.events.back()["usage"]["prompt_tokens"] == r["usage"]["prompt_tokens"]);

    // Without include_usage no chunk carries usage.
    const Stream plain = stream(s, "/v1/chat/completions", "{" + messages + R"(, "max_tokens": 2, "stream": true})");
    CHECK(plain.error == "");
    CHECK(plain.done);
    for (const Json& e : plain.events) CHECK_FALSE(e.contains("usage"));
  }

  SECTION("tokenize with pieces, metrics") {
    const Json t = post(s, "/tokenize", R"({"content": "Once upon", "with_pieces": true})");
    REQUIRE(t["tokens"].size() == 2);
    CHECK(t["tokens"][0]["id"] == 403);
    post(s, "/v1/completions", completion("Once", 3));
    CHECK(metric(s, "slim_model_loaded") == 1);
    CHECK(metric(s, "slim_requests_total") >= 1);
    CHECK(metric(s, "slim_generated_tokens_total") >= 3);
    CHECK(metric(s, "slim_slots") == 8);
    CHECK(metric(s, "slim_busy_slots") == 0);
  }

  SECTION("bad requests: an OpenAI error object each, and the server stays healthy") {
    struct Bad {
      std::string path, body;
      int status;
      std::string code, param;
    };
    const std::string long_prompt = Json{{"prompt", std::vector<int>(600, 403)}}.dump();
    const std::vector<Bad> cases = {
        {"/v1/chat/completions", "{\"messages\": [", 400, "invalid_json", ""},
        {"/v1/chat/completions", "[1, 2]", 400, "invalid_json", ""},
        {"/v1/chat/completions", "", 400, "invalid_json", ""},
        {"/v1/chat/completions", "{}", 400, "missing_field", "messages"},
        {"/v1/chat/completions", R"({"messages": "hi"})", 400, "invalid_value", "messages"},
        {"/v1/chat/completions", R"({"messages": [{"content": "hi"}]})", 400, "missing_field", "messages[0].role"},
        {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": 3}]})", 400, "invalid_value", "messages[0].content"},
        {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", 400,
         "unsupported_content", "messages[0].content[0].type"},
        {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "n": 2})", 400, "invalid_value", "n"},
        {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"})", 400,
         "invalid_value", "temperature"},
        {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": -5})", 400,
         "invalid_value", "max_tokens"},
        {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "stop": [1]})", 400, "invalid_value", "stop"},
        {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "top_p": 0})", 400, "invalid_value", "top_p"},
        {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "stream": "yes"})", 400, "invalid_value", "stream"},
        {"/v1/completions", "{}", 400, "missing_field", "prompt"},
        {"/v1/completions", R"({"prompt": 12})", 400, "invalid_value", "prompt"},
        {"/v1/completions", R"({"prompt": [1, -2]})", 400, "invalid_value", "prompt"},
        {"/v1/completions", R"({"prompt": [100000]})", 400, "invalid_value", "prompt"},
        {"/v1/completions", R"({"prompt": "x", "logit_bias": {"a": 1}})", 400, "invalid_value", "logit_bias"},
        {"/v1/completions", long_prompt, 400, "context_length_exceeded", "prompt"},
        {"/v1/completions", R"({"prompt": "x", "max_tokens": 99999999999999999999})", 400, "invalid_value", ""},
        {"/infill", R"({"input_prefix": "def f():"})", 400, "fim_unsupported", ""},
        {"/tokenize", R"({"content": 5})", 400, "invalid_value", "content"},
        {"/tokenize", "{}", 400, "missing_field", "content"},
        {"/detokenize", R"({"tokens": "1 2"})", 400, "invalid_value", "tokens"},
        {"/detokenize", R"({"tokens": [99999]})", 400, "invalid_value", "tokens"},
        {"/no/such/endpoint", "{}", 404, "http_error", ""},
    };
    for (const Bad& c : cases) {
      const Json e = post(s, c.path, c.body, c.status);
      check_error(e, c.code);
      if (!c.param.empty()) CHECK(e["error"]["param"] == c.param);
      check_healthy(s);
    }
    // A long chat prompt too.
    const std::string many(3000, 'x');
    check_error(post(s, "/v1/chat/completions", Json{{"messages", {{{"role", "user"}, {"content", many}}}}}.dump(), 400),
                "context_length_exceeded");
    check_healthy(s);
    // Unknown fields (and null for a field left unset) are ignored.
    const Json ok = post(s, "/v1/chat/completions",
                         R"({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi", "name": "x"}],
                             "max_tokens": 2, "user": "someone", "frobnicate": {"a": [1]}, "top_p": null})");
    CHECK(ok["usage"]["completion_tokens"] == 2);
  }

  SECTION("32 concurrent streams each give what the same request gives alone (greedy)") {
    const std::vector<std::string> prompts = {"Once upon a time", "The cat", "Lily and Ben", "One day",
                                              "The sun was", "Tom had a", "In the park", "She said"};
    std::vector<std::string> alone;
    for (const auto& p : prompts) {
      alone.push_back(post(s, "/v1/completions", completion(p, 16))["choices"][0]["text"]);
    }
    constexpr int kClients = 32;
    std::vector<Stream> results(kClients);
    std::vector<std::string> errors(kClients);
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        try {
          results[i] = stream(s, "/v1/completions", completion(prompts[i % prompts.size()], 16, true));
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& t : clients) t.join();
    for (int i = 0; i < kClients; ++i) {
      INFO("client " << i << " " << errors[i]);
      CHECK(results[i].error == "");
      CHECK(results[i].status == 200);
      CHECK(results[i].done);
      CHECK(stream_text(results[i]) == alone[i % prompts.size()]);
    }
    CHECK(metric(s, "slim_busy_slots") == 0);
  }

  CHECK(s.stop() == 0);  // SIGTERM stops it cleanly
}

TEST_CASE("slim-server with --api-key answers 401 without the key", "[server]") {
  ServerProcess s({"--model", stories(), "--threads", "1", "--parallel", "1", "--api-key", "sesame"});
  const std::string body = completion("Once", 2);
  check_error(post(s, "/v1/completions", body, 401), "invalid_api_key");
  check_error(post(s, "/v1/completions", body, 401, {{"Authorization", "Bearer wrong"}}), "invalid_api_key");
  check_error(post(s, "/tokenize", R"({"content": "x"})", 401, {{"Authorization", "sesame"}}), "invalid_api_key");
  auto models = s.client().Get("/v1/models");
  REQUIRE(models);
  CHECK(models->status == 401);
  check_healthy(s);  // open to the orchestrator
  auto page = s.client().Get("/");  // the page holds no secret; it asks for the key itself
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type").rfind("text/html", 0) == 0);
  CHECK(page->get_header_value("Content-Security-Policy").find("connect-src 'self'") != std::string::npos);
  CHECK(page->body.find("data-testid=\"prompt\"") != std::string::npos);
  CHECK(post(s, "/v1/completions", body, 200, {{"Authorization", "Bearer sesame"}})["usage"]["completion_tokens"] == 2);
}

TEST_CASE("slim-server's limits: queue full, oversized body, a client that goes away", "[server]") {
  // A random model with a long context, so that a request without max_tokens runs far longer
  // than the test needs it to (it is then cancelled by its client leaving).
  slim::test::TempDir tmp;
  const fs::path dir = tmp.path / "long";
  fs::create_directories(dir);
  std::ofstream(dir / "random-config.json") << R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "vocab_size": 512, "max_position_embeddings": 32768, "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": true, "bos_token_id": 1,
    "eos_token_id": 2, "torch_dtype": "float32"})";
  slim::Model::random(dir / "random-config.json", {.threads = 1}, 7)->save(dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(fs::path(stories()) / f, dir / f);
  ServerProcess s({"--model", dir.string(), "--threads", "1", "--parallel", "1", "--max-queue", "0", "--context",
                   "32768", "--max-body-bytes", "1024"});

  // The long request streams until its client disconnects.
  std::mutex m;
  std::condition_variable cv;
  bool started = false;
  std::atomic<bool> leave{false};
  std::thread holder([&] {
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = R"({"prompt": "Once", "ignore_eos": true, "stream": true})";
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      {
        std::lock_guard lock(m);
        started = true;
      }
      cv.notify_all();
      return !leave.load();  // false closes the connection mid-stream
    };
    s.client().send(req);
  });
  {
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return started; }));
  }
  CHECK(metric(s, "slim_busy_slots") == 1);
  // The one slot is busy and no request may wait: 503.
  const Json busy = post(s, "/v1/completions", completion("Once", 2), 503);
  check_error(busy, "server_busy");
  check_healthy(s);
  // A body over --max-body-bytes: 413.
  check_error(post(s, "/v1/completions", completion(std::string(2000, 'a'), 2), 413), "body_too_large");
  check_healthy(s);

  leave = true;
  holder.join();
  // Its slot is freed, and later requests run.
  CHECK(eventually([&] { return metric(s, "slim_busy_slots") == 0; }));
  const Json after = post(s, "/v1/completions", completion("Once", 4));
  CHECK(after["usage"]["completion_tokens"] == 4);
  CHECK(metric(s, "slim_requests_done_total") == 2);
}

TEST_CASE("slim-server --no-webui serves no page", "[server]") {
  ServerProcess s({"--model", stories(), "--threads", "1", "--parallel", "1", "--no-webui"});
  auto page = s.client().Get("/");
  REQUIRE(page);
  CHECK(page->status == 404);
  check_healthy(s);
}

TEST_CASE("slim-server --kv-type f16 halves the KV cache and gives the f16 Session's tokens", "[server]") {
  auto model = slim::Model::load(stories(), {.threads = 1});
  const auto prompt = model->tokenizer().encode("Once upon a time");
  slim::Session session(model, 512, slim::DType::f16);
  const std::string want = slim::generate(session, prompt, {.max_tokens = 12, .stop_at_eos = false}).text;
  ServerProcess s({"--model", stories(), "--threads", "1", "--parallel", "2", "--context", "512", "--kv-type", "f16"});
  CHECK(metric(s, "slim_kv_cache_bytes") == static_cast<double>(2 * model->kv_cache_bytes(512, slim::DType::f16)));
  const Json got =
      post(s, "/v1/completions", Json{{"prompt", prompt}, {"max_tokens", 12}, {"temperature", 0}, {"ignore_eos", true}}.dump());
  CHECK(got["choices"][0]["text"] == want);
  check_healthy(s);
}

TEST_CASE("slim-server answers 503 to connections beyond --max-connections", "[server]") {
  ServerProcess s({"--model", stories(), "--threads", "1", "--max-connections", "1", "--idle-timeout", "60"});
  // A keep-alive connection that has been answered holds the one worker. (Until the worker has
  // let go of the server's own /health checks, the connection may be the one rejected: retry.)
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(s.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = -1;
  const auto held = [&] {
    if (fd >= 0) close(fd);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    const std::string request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) return false;
    std::string answer;
    char buffer[4096];
    while (answer.find('}') == std::string::npos) {  // the end of the JSON body
      const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return false;
      answer.append(buffer, static_cast<size_t>(n));
    }
    return answer.rfind("HTTP/1.1 200", 0) == 0;
  };
  REQUIRE(eventually(held));
  auto res = s.client().Get("/health");
  REQUIRE(res);
  CHECK(res->status == 503);
  check_error(Json::parse(res->body), "too_many_connections");
  close(fd);
  // Once it has gone the server answers again.
  CHECK(eventually([&] {
    auto r = s.client().Get("/health");
    return r && r->status == 200;
  }));
}

TEST_CASE("slim-server /infill on a model with FIM tokens, and prompt reuse", "[server]") {
  slim::test::TempDir tmp;
  const fs::path model = slim::test::make_qwen_tokenizer_model(tmp.path / "qwen");
  ServerProcess s({"--model", model.string(), "--threads", "1", "--parallel", "2", "--context", "256"});

  Json infill = {{"input_prefix", "def add(a, b):\n    return "},
                 {"input_suffix", "\n\nprint(add(1, 2))\n"},
                 {"input_extra", {{{"filename", "util.py"}, {"text", "def sub(a, b):\n    return a - b\n"}}}},
                 {"n_predict", 4},
                 {"temperature", 0}};
  const Json first = post(s, "/infill", infill.dump());
  CHECK(first["content"].is_string());
  CHECK(first["tokens_predicted"] == 4);
  CHECK(first["stop_type"] == "limit");
  CHECK(first["truncated"] == false);
  CHECK(first["tokens_cached"] == 0);
  // The next keystroke: the same prefix and one more character; all but the changed end is reused.
  infill["input_prefix"] = "def add(a, b):\n    return a";
  const Json second = post(s, "/infill", infill.dump());
  const int evaluated = second["tokens_evaluated"];
  const int cached = second["tokens_cached"];
  CHECK(cached > evaluated / 2);
  CHECK(cached < evaluated);
  CHECK(second["timings"]["prompt_n"] == evaluated - cached);

  // A prefix longer than the context is trimmed to fit, and the answer says so.
  infill["input_prefix"] = std::string(4000, 'x') + " = 1\n";
  const Json trimmed = post(s, "/infill", infill.dump());
  CHECK(trimmed["truncated"] == true);
  CHECK(trimmed["tokens_evaluated"].get<int>() <= 256);
  check_healthy(s);

  // Streamed: content chunks, then the whole answer with stop true.
  infill["input_prefix"] = "x = ";
  infill["stream"] = true;
  const Stream st = stream(s, "/infill", infill.dump());
  CHECK(st.error == "");
  REQUIRE(!st.events.empty());
  CHECK(st.events.back()["stop"] == true);
  CHECK(st.events.back()["tokens_predicted"] == 4);

  // Chat clients resend the conversation: the second turn reuses the first's prompt.
  const Json chat1 = post(s, "/v1/chat/completions", R"({"messages": [{"role": "user", "content": "Write a haiku"}],
    "max_tokens": 3, "temperature": 0})");
  const Json chat2 = post(s, "/v1/chat/completions", R"({"messages": [{"role": "user", "content": "Write a haiku"},
    {"role": "assistant", "content": "ok"}, {"role": "user", "content": "Another"}], "max_tokens": 3, "temperature": 0})");
  CHECK(chat2["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>() >= 10);
  CHECK(chat1["usage"]["prompt_tokens"].get<int>() < chat2["usage"]["prompt_tokens"].get<int>());
}

TEST_CASE("slim-server's structured output: response_format, json_schema and grammar", "[server]") {
  ServerProcess s({"--model", stories(), "--threads", "1", "--parallel", "2"});
  const Json schema = {{"type", "object"},
                       {"properties", {{"name", {{"type", "string"}, {"maxLength", 12}}},
                                       {"age", {{"type", "integer"}, {"minimum", 0}, {"maximum", 120}}}}},
                       {"required", {"name", "age"}},
                       {"additionalProperties", false}};
  const auto chat = [&](const Json& extra) {
    Json body = {{"messages", {{{"role", "user"}, {"content", "Tell me about a girl"}}}}, {"max_tokens", 200}, {"temperature", 0}};
    body.update(extra);
    return body.dump();
  };
  // stories260K writes stories, not JSON: only the grammar makes these answers JSON.
  for (const Json& format : {Json{{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "girl"}, {"schema", schema}, {"strict", true}}}}}},
                             Json{{"json_schema", schema}}}) {
    INFO(format.dump());
    const Json r = post(s, "/v1/chat/completions", chat(format));
    const std::string content = r["choices"][0]["message"]["content"];
    INFO(content);
    const Json doc = Json::parse(content);  // throws unless it is JSON
    REQUIRE(doc.is_object());
    CHECK(doc.size() == 2);
    CHECK(doc["name"].is_string());
    CHECK(doc["name"].get<std::string>().size() <= 12);
    CHECK((doc["age"].is_number_integer() && doc["age"] >= 0 && doc["age"] <= 120));
    CHECK(r["choices"][0]["finish_reason"] == "stop");
  }
  const Json any = post(s, "/v1/completions", R"({"prompt": "Once upon a time", "max_tokens": 300, "temperature": 0,
                                                 "response_format": {"type": "json_object"}})");
  const std::string text = any["choices"][0]["text"];
  INFO(text);
  if (any["choices"][0]["finish_reason"] == "stop") CHECK_NOTHROW(Json::parse(text));
  const Json yes = post(s, "/v1/completions", R"({"prompt": "Once", "max_tokens": 8, "grammar": "root ::= (\"yes\" | \"no\") \"!\""})");
  const std::string answer = yes["choices"][0]["text"];
  CHECK((answer == "yes!" || answer == "no!"));

  check_error(post(s, "/v1/chat/completions", chat({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "object"}, {"patternProperties", Json::object()}}}}}}}}), 400),
              "unsupported_value");
  check_error(post(s, "/v1/chat/completions", chat({{"grammar", "root ::= undefined_rule"}}), 400), "invalid_value");
  check_error(post(s, "/v1/chat/completions", chat({{"grammar", "root ::= \"a\""}, {"json_schema", schema}}), 400), "invalid_value");
  check_error(post(s, "/v1/chat/completions", chat({{"response_format", {{"type", "xml"}}}}), 400), "unsupported_value");
  check_error(post(s, "/v1/chat/completions", chat({{"response_format", {{"type", "json_schema"}}}}), 400), "missing_field");
  check_healthy(s);
}

namespace {

const char* kWeatherTools = R"([
  {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
      "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
      "required": ["city", "unit"]}}},
  {"type": "function", "function": {"name": "add", "description": "Adds two numbers",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}
])";

// A call's arguments must be a document of its tool's parameters schema (read by the grammar
// compiled from it; ajv checks the same independently in tests/http).
void check_tool_call(const Json& call, const std::string& want_name = "") {
  INFO(call.dump());
  REQUIRE(call["type"] == "function");
  CHECK(call["id"].is_string());
  const std::string name = call["function"]["name"];
  if (!want_name.empty()) CHECK(name == want_name);
  const Json args = Json::parse(call["function"]["arguments"].get<std::string>());
  REQUIRE(args.is_object());
  bool found = false;
  for (const Json& t : Json::parse(kWeatherTools)) {
    if (t["function"]["name"] != name) continue;
    found = true;
    slim::GrammarMatcher m(slim::Grammar::from_json_schema(t["function"]["parameters"].dump()));
    CHECK((m.accept(call["function"]["arguments"].get<std::string>()) && m.is_complete()));
  }
  CHECK(found);
  if (name == "get_weather") {
    const std::string city = args["city"];
    CHECK(std::count_if(city.begin(), city.end(), [](char c) { return (c & 0xC0) != 0x80; }) <= 12);  // code points
    CHECK((args["unit"] == "celsius" || args["unit"] == "fahrenheit"));
  } else {
    CHECK(args["a"].is_number_integer());
    CHECK(args["b"].is_number_integer());
  }
}

// Tool calls through one server: required, a named function, auto over seeds (text or calls),
// none, streamed calls, and the errors.
void check_tools(const ServerProcess& s) {
  const auto chat = [&](const Json& extra) {
    Json body = {{"messages", {{{"role", "user"}, {"content", "What is the weather in Paris?"}}}},
                 {"tools", Json::parse(kWeatherTools)}, {"max_tokens", 80}, {"temperature", 0},
                 {"top_k", 40}};  // sampled requests: top-k spares sorting the whole vocabulary
    body.update(extra);
    return body.dump();
  };
  for (int seed = 0; seed < 3; ++seed) {
    const Json extra = {{"tool_choice", "required"}, {"temperature", seed ? 1.0 : 0.0}, {"seed", seed}};
    const Json r = post(s, "/v1/chat/completions", chat(extra));
    INFO(r.dump());
    const Json& choice = r["choices"][0];
    if (choice["finish_reason"] == "length") continue;  // a long string cut off: not a wrong call
    CHECK(choice["finish_reason"] == "tool_calls");
    REQUIRE(choice["message"]["tool_calls"].is_array());
    REQUIRE(!choice["message"]["tool_calls"].empty());
    for (const Json& call : choice["message"]["tool_calls"]) check_tool_call(call);
  }
  // A named function: one call of it.
  const Json named = post(s, "/v1/chat/completions", chat({{"tool_choice", {{"type", "function"}, {"function", {{"name", "add"}}}}}}));
  INFO(named.dump());
  REQUIRE(named["choices"][0]["finish_reason"] == "tool_calls");
  REQUIRE(named["choices"][0]["message"]["tool_calls"].size() == 1);
  check_tool_call(named["choices"][0]["message"]["tool_calls"][0], "add");
  const Json one = post(s, "/v1/chat/completions", chat({{"tool_choice", "required"}, {"parallel_tool_calls", false}, {"seed", 3}, {"temperature", 1.0}}));
  INFO(one.dump());
  if (one["choices"][0]["finish_reason"] == "tool_calls") CHECK(one["choices"][0]["message"]["tool_calls"].size() == 1);

  int calls = 0, texts = 0;
  for (int seed = 0; seed < 4; ++seed) {
    const Json r = post(s, "/v1/chat/completions", chat({{"tool_choice", "auto"}, {"temperature", 1.0}, {"seed", seed}}));
    const Json& choice = r["choices"][0];
    INFO(r.dump());
    if (choice["finish_reason"] == "tool_calls") {
      ++calls;
      for (const Json& call : choice["message"]["tool_calls"]) check_tool_call(call);
    } else {
      ++texts;
      CHECK(choice["message"]["content"].is_string());
      CHECK_FALSE(choice["message"].contains("tool_calls"));
    }
  }
  CHECK(calls + texts == 4);
  const Json none = post(s, "/v1/chat/completions", chat({{"tool_choice", "none"}, {"max_tokens", 4}}));
  CHECK_FALSE(none["choices"][0]["message"].contains("tool_calls"));
  const Json with_tools = post(s, "/v1/chat/completions", chat({{"max_tokens", 1}}));
  CHECK(none["usage"]["prompt_tokens"].get<int>() < with_tools["usage"]["prompt_tokens"].get<int>());  // tools not shown

  // Streamed: OpenAI's delta.tool_calls with an index, then finish_reason tool_calls; the same
  // call as the whole answer (greedy).
  const Json whole = post(s, "/v1/chat/completions", chat({{"tool_choice", "required"}}));
  const Stream st = stream(s, "/v1/chat/completions", chat({{"tool_choice", "required"}, {"stream", true}}));
  CHECK(st.error == "");
  CHECK(st.done);
  Json streamed = Json::array();
  std::string finish;
  for (const Json& e : st.events) {
    const Json& c = e["choices"][0];
    if (c["finish_reason"].is_string()) finish = c["finish_reason"];
    if (!c["delta"].contains("tool_calls")) continue;
    for (Json call : c["delta"]["tool_calls"]) {
      CHECK(call["index"] == streamed.size());
      call.erase("index");
      streamed.push_back(call);
    }
  }
  if (whole["choices"][0]["finish_reason"] == "tool_calls") {
    CHECK(finish == "tool_calls");
    REQUIRE(streamed.size() == whole["choices"][0]["message"]["tool_calls"].size());
    for (size_t i = 0; i < streamed.size(); ++i) {
      CHECK(streamed[i]["function"] == whole["choices"][0]["message"]["tool_calls"][i]["function"]);
    }
  }

  check_error(post(s, "/v1/chat/completions", chat({{"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}}), 400),
              "invalid_value");
  const Json bad_tools = Json::parse(R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "not": {}}}}])");
  check_error(post(s, "/v1/chat/completions", chat({{"tools", bad_tools}}), 400), "unsupported_value");
  check_error(post(s, "/v1/chat/completions", chat({{"response_format", {{"type", "json_object"}}}}), 400), "invalid_value");
  check_error(post(s, "/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})", 400),
              "invalid_value");
  check_healthy(s);
}

}  // namespace

TEST_CASE("slim-server tool calls: Qwen2.5's <tool_call> format", "[server][tools]") {
  slim::test::TempDir tmp;
  const fs::path model = slim::test::make_qwen_tokenizer_model(tmp.path / "qwen");
  ServerProcess s({"--model", model.string(), "--threads", "1", "--parallel", "2", "--context", "1024"});
  check_tools(s);
}

TEST_CASE("slim-server tool calls: Llama 3.1's JSON format, and the generic one", "[server][tools]") {
  slim::test::TempDir tmp;
  const fs::path model = slim::test::make_llama3_tokenizer_model(tmp.path / "llama3");
  const fs::path llama31 = slim::test::shared_dir() / "fixtures" / "chat" / "templates" / "meta-llama-Llama-3.1-8B-Instruct.jinja";
  {
    ServerProcess s({"--model", model.string(), "--threads", "1", "--parallel", "2", "--context", "2048",
                     "--chat-template", llama31.string()});
    check_tools(s);
  }
  // The tokenizer's own Llama 3 template shows no tools: the generic format, told in a system message.
  ServerProcess s({"--model", model.string(), "--threads", "1", "--parallel", "2", "--context", "1024"});
  check_tools(s);
}
