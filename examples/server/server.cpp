#include "server.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "connection_pool.hpp"
#include "prompts.hpp"
#include "request.hpp"
#include "slim/slim.hpp"
#include "tool_replies.hpp"

extern const char kWebUiPage[];  // webui/index.html, embedded by CMake (cmake/embed_text.cmake)

namespace slim::server {
namespace {

using Clock = std::chrono::steady_clock;

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status, e.body()); }

// A library error as the HTTP answer it deserves.
ApiError api_error(const Error& e) {
  switch (e.code()) {
    case ErrorCode::context_overflow: return ApiError(400, e.what(), "messages", "context_length_exceeded");
    case ErrorCode::busy: return ApiError(503, e.what(), "", "server_busy", "server_error");
    case ErrorCode::invalid_argument:
    case ErrorCode::template_error:
    case ErrorCode::limit_exceeded: return ApiError(400, e.what(), "", "invalid_value");
    default: return ApiError(500, e.what(), "", "internal_error", "server_error");
  }
}

const char* finish_reason(StopReason r) {
  switch (r) {
    case StopReason::max_tokens:
    case StopReason::context_full: return "length";
    default: return "stop";
  }
}

// llama.cpp's stop_type of /infill and /completion answers.
const char* stop_type(StopReason r) {
  switch (r) {
    case StopReason::eos: return "eos";
    case StopReason::stop_string: return "word";
    case StopReason::max_tokens:
    case StopReason::context_full: return "limit";
    default: return "none";
  }
}

Json usage(const GenerateResult& r) {
  const auto prompt = static_cast<int64_t>(r.prompt_tokens.size()), completion = static_cast<int64_t>(r.tokens.size());
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

Json timings(const GenerateResult& r) {
  const auto prompt_n = static_cast<int64_t>(r.prompt_tokens.size()) - r.cached_tokens;
  const auto predicted_n = static_cast<int64_t>(r.tokens.size());
  return {{"prompt_n", prompt_n},
          {"prompt_ms", r.prompt_seconds * 1e3},
          {"prompt_per_second", r.prompt_seconds > 0 ? static_cast<double>(prompt_n) / r.prompt_seconds : 0.0},
          {"predicted_n", predicted_n},
          {"predicted_ms", r.generate_seconds * 1e3},
          {"predicted_per_second",
           r.generate_seconds > 0 ? static_cast<double>(predicted_n - 1) / r.generate_seconds : 0.0}};
}

// A request's text pieces on their way from the engine's thread to its connection's thread.
struct Channel {
  std::mutex mutex;
  std::condition_variable cv;
  std::string text;
  bool done = false;

  void push(std::string_view piece) {
    {
      std::lock_guard lock(mutex);
      text += piece;
    }
    cv.notify_one();
  }
  void finish() {
    {
      std::lock_guard lock(mutex);
      done = true;
    }
    cv.notify_one();
  }
  // Waits up to `timeout` for text or the end; returns the text taken and whether it ended.
  std::pair<std::string, bool> take(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, timeout, [&] { return done || !text.empty(); });
    return {std::exchange(text, {}), done};
  }
};

// What an endpoint makes of a request: the prompt and how to shape the answer.
enum class Shape { chat, completion, infill };

struct Job {
  Shape shape = Shape::chat;
  std::vector<int32_t> prompt = {};
  GenerationRequest generation = {};
  std::string echo = {};  // completions with echo: the prompt text before the answer
  bool truncated = false; // infill: the prompt was trimmed to fit the context
  std::optional<ToolCallFormat> tools = {};  // chat with tools: the reply may be calls in this format
};

}  // namespace

struct Server::Impl {
  explicit Impl(ServerOptions o) : options(std::move(o)) {}

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  void routes();
  void load();
  // Runs the job on the engine and answers it, streamed or whole.
  void answer(const Job& job, httplib::Response& res);
  Json chunk(const Job& job, const std::string& id, const std::string& text, const char* reason) const;
  Json whole(const Job& job, const std::string& id, const GenerateResult& r) const;
  std::string metrics() const;
  uint64_t draw_seed() {
    std::lock_guard lock(seed_mutex);
    return seeds();
  }
  // The model, or a 503 while it loads.
  void require_ready() const {
    if (!ready.load()) throw ApiError(503, "the model is loading", "", "model_loading", "server_error");
  }
  template <class Fn>
  httplib::Server::Handler handle(Fn fn) {
    return [this, fn](const httplib::Request& req, httplib::Response& res) {
      try {
        fn(req, res);
      } catch (const ApiError& e) {
        send_error(res, e);
      } catch (const Error& e) {
        send_error(res, api_error(e));
      } catch (const std::exception& e) {
        send_error(res, ApiError(500, e.what(), "", "internal_error", "server_error"));
      }
    };
  }

  ServerOptions options;
  httplib::Server http;
  int port = 0;
  socket_t listen_socket = -1;  // the socket httplib made, seen by its socket options callback
  std::atomic<bool> ready{false};
  std::shared_ptr<const Model> model;
  std::unique_ptr<Engine> engine;
  std::optional<ChatTemplate> custom_template;
  std::optional<FimTokens> fim;
  ToolCallStyle tool_style;  // how the chat template writes tool calls
  std::string model_name;
  int64_t created = unix_time();
  std::atomic<uint64_t> next_id{1};
  std::atomic<uint64_t> http_requests{0};
  std::mutex seed_mutex;
  std::mt19937_64 seeds{std::random_device{}()};
};

void Server::Impl::load() {
  model = Model::load(options.model_path, options.load);
  const Tokenizer& tokenizer = model->tokenizer();  // a server needs one: fail at start, not per request
  if (!options.chat_template_file.empty()) {
    std::ifstream in(options.chat_template_file, std::ios::binary);
    if (!in) throw Error(ErrorCode::io, options.chat_template_file + ": cannot open");
    std::stringstream source;
    source << in.rdbuf();
    const ChatTemplate& base = model->chat_template();
    custom_template.emplace(ChatTemplate::from_string(source.str(), base.bos_token(), base.eos_token()));
  }
  fim = find_fim_tokens(tokenizer);
  tool_style = detect_tool_call_format(custom_template ? *custom_template : model->chat_template(), tokenizer);
  engine = std::make_unique<Engine>(model, EngineOptions{.slots = options.parallel,
                                                         .context = options.context,
                                                         .threads = options.load.threads,
                                                         .max_queued = options.max_queued,
                                                         .batch_tokens = std::max<int64_t>(256, options.parallel),
                                                         .kv_type = options.kv_type});
  ready = true;
  log("model " + model_name + " loaded: " + std::to_string(options.parallel) + " slots of " +
      std::to_string(engine->context_length()) + " positions");
}

Json Server::Impl::chunk(const Job& job, const std::string& id, const std::string& text, const char* reason) const {
  const Json finish = reason ? Json(reason) : Json(nullptr);
  if (job.shape == Shape::chat) {
    Json delta = Json::object();
    if (!reason) delta["content"] = text;
    return {{"id", id},
            {"object", "chat.completion.chunk"},
            {"created", unix_time()},
            {"model", model_name},
            {"choices", Json::array({{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
  }
  if (job.shape == Shape::completion) {
    return {{"id", id},
            {"object", "text_completion"},
            {"created", unix_time()},
            {"model", model_name},
            {"choices", Json::array({{{"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
  }
  return {{"content", text}, {"stop", false}};
}

Json Server::Impl::whole(const Job& job, const std::string& id, const GenerateResult& r) const {
  if (job.shape == Shape::chat) {
    Json message = {{"role", "assistant"}, {"content", r.text}};
    const char* finish = finish_reason(r.stop_reason);
    if (job.tools) {
      const ParsedToolCalls reply = read_tool_reply(*job.tools, r.text);
      message["content"] = reply.content;
      if (!reply.calls.empty()) {
        if (reply.content.empty()) message["content"] = nullptr;  // as OpenAI answers a call
        message["tool_calls"] = tool_calls_json(reply, id, false);
        finish = "tool_calls";
      }
    }
    return {{"id", id},
            {"object", "chat.completion"},
            {"created", unix_time()},
            {"model", model_name},
            {"choices", Json::array({{{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", finish}}})},
            {"usage", usage(r)}};
  }
  if (job.shape == Shape::completion) {
    return {{"id", id},
            {"object", "text_completion"},
            {"created", unix_time()},
            {"model", model_name},
            {"choices", Json::array({{{"text", job.echo + r.text},
                                      {"index", 0},
                                      {"logprobs", nullptr},
                                      {"finish_reason", finish_reason(r.stop_reason)}}})},
            {"usage", usage(r)}};
  }
  // llama.cpp's /infill answer.
  return {{"content", r.text},
          {"model", model_name},
          {"stop", true},
          {"stop_type", stop_type(r.stop_reason)},
          {"tokens_predicted", r.tokens.size()},
          {"tokens_evaluated", r.prompt_tokens.size()},
          {"tokens_cached", r.cached_tokens},
          {"truncated", job.truncated},
          {"timings", timings(r)}};
}

void Server::Impl::answer(const Job& job, httplib::Response& res) {
  GenerateOptions options = job.generation.options;
  const int64_t context = engine->context_length();
  if (static_cast<int64_t>(job.prompt.size()) > context) {
    throw ApiError(400,
                   "the prompt has " + std::to_string(job.prompt.size()) + " tokens; the context holds " +
                       std::to_string(context),
                   job.shape == Shape::chat ? "messages" : "prompt", "context_length_exceeded");
  }
  if (options.max_tokens < 0) options.max_tokens = static_cast<int>(context);  // until the context is full
  options.text_continues_prompt = job.shape != Shape::chat;
  auto channel = std::make_shared<Channel>();
  const bool stream = job.generation.stream;
  GenerationHandle handle = engine->submit({.prompt = job.prompt,
                                            .options = options,
                                            .on_text = [channel, stream](std::string_view t) {
                                              if (stream) channel->push(t);
                                              return true;
                                            },
                                            .on_done = [channel] { channel->finish(); }});
  const std::string id = (job.shape == Shape::chat ? "chatcmpl-" : "cmpl-") + std::to_string(next_id++);
  // Cancels the request when the connection goes away before it ends (the provider's owner
  // drops it then), so its slot is freed.
  struct Cancel {
    explicit Cancel(GenerationHandle h) : handle(std::move(h)) {}
    Cancel(const Cancel&) = delete;
    ~Cancel() { handle.cancel(); }
    GenerationHandle handle;
  };
  auto cancel = std::make_shared<Cancel>(handle);
  const auto write = [](httplib::DataSink& sink, const std::string& data) { return sink.write(data.data(), data.size()); };
  const auto sse = [](const Json& j) { return "data: " + j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n"; };

  if (!stream) {
    // The answer waits for the whole text. A space (which JSON allows before a value) every
    // second finds a client that has gone, whose request is then cancelled.
    res.set_chunked_content_provider("application/json", [=, this](size_t, httplib::DataSink& sink) {
      for (;;) {
        const auto [text, done] = channel->take(std::chrono::milliseconds(1000));
        if (done) break;
        if (!write(sink, " ")) return false;
      }
      try {
        const GenerateResult r = cancel->handle.wait();
        write(sink, whole(job, id, r).dump(-1, ' ', false, Json::error_handler_t::replace));
      } catch (const Error& e) {
        write(sink, api_error(e).body().dump());
      }
      sink.done();
      return true;
    });
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  const auto tool_stream = job.tools ? std::make_shared<ToolReplyStream>(*job.tools) : nullptr;
  res.set_chunked_content_provider("text/event-stream", [=, this](size_t, httplib::DataSink& sink) {
    if (job.shape == Shape::chat) {  // OpenAI's first chunk names the role
      Json first = chunk(job, id, "", nullptr);
      first["choices"][0]["delta"] = {{"role", "assistant"}, {"content", ""}};
      if (job.generation.include_usage) first["usage"] = nullptr;
      if (!write(sink, sse(first))) return false;
    } else if (job.shape == Shape::completion && !job.echo.empty()) {
      if (!write(sink, sse(chunk(job, id, job.echo, nullptr)))) return false;
    }
    for (;;) {
      auto [text, done] = channel->take(std::chrono::milliseconds(2000));
      if (tool_stream) text = tool_stream->push(text);
      if (!text.empty()) {
        Json c = chunk(job, id, text, nullptr);
        if (job.generation.include_usage) c["usage"] = nullptr;
        if (!write(sink, sse(c))) return false;
      } else if (!done && !write(sink, ": waiting\n\n")) {  // an SSE comment finds a client that has gone
        return false;
      }
      if (done) break;
    }
    try {
      const GenerateResult r = cancel->handle.wait();
      if (job.shape == Shape::infill) {
        write(sink, sse(whole(job, id, r)));
      } else {
        const char* finish = finish_reason(r.stop_reason);
        if (tool_stream) {  // the text held back: calls, or text after all
          const ParsedToolCalls reply = tool_stream->finish();
          Json c = chunk(job, id, reply.content, nullptr);
          if (!reply.calls.empty()) {
            c["choices"][0]["delta"] = {{"tool_calls", tool_calls_json(reply, id, true)}};
            if (!reply.content.empty()) c["choices"][0]["delta"]["content"] = reply.content;
            finish = "tool_calls";
          }
          if (job.generation.include_usage) c["usage"] = nullptr;
          if (!reply.content.empty() || !reply.calls.empty()) write(sink, sse(c));
        }
        Json last = chunk(job, id, "", finish);
        if (job.generation.include_usage) last["usage"] = nullptr;
        last["timings"] = timings(r);  // as llama-server's last chunk: the page shows its speed
        write(sink, sse(last));
        if (job.generation.include_usage) {
          Json u = chunk(job, id, "", nullptr);
          u["choices"] = Json::array();
          u["usage"] = usage(r);
          write(sink, sse(u));
        }
        write(sink, "data: [DONE]\n\n");
      }
    } catch (const Error& e) {
      write(sink, sse(api_error(e).body()));
    }
    sink.done();
    return true;
  });
}

std::string Server::Impl::metrics() const {
  std::ostringstream out;
  const auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
  };
  metric("slim_http_requests_total", "counter", "HTTP requests received.", http_requests.load());
  metric("slim_model_loaded", "gauge", "1 once the model has loaded.", ready ? 1 : 0);
  if (!ready) return out.str();
  const EngineStats s = engine->stats();
  metric("slim_requests_total", "counter", "Generation requests submitted.", s.requests);
  metric("slim_requests_done_total", "counter", "Generation requests ended.", s.requests_done);
  metric("slim_prompt_tokens_total", "counter", "Prompt tokens of the requests.", s.prompt_tokens);
  metric("slim_prompt_tokens_cached_total", "counter", "Prompt tokens reused from a slot's cache.", s.cached_tokens);
  metric("slim_generated_tokens_total", "counter", "Tokens generated.", s.generated_tokens);
  metric("slim_steps_total", "counter", "Forward passes (batches) run.", s.steps);
  metric("slim_busy_seconds_total", "counter", "Seconds spent running batches.", s.busy_seconds);
  metric("slim_tokens_per_second", "gauge", "Generated tokens per busy second, since the start.",
         s.busy_seconds > 0 ? static_cast<double>(s.generated_tokens) / s.busy_seconds : 0.0);
  metric("slim_queue_length", "gauge", "Requests waiting for a slot.", s.queued);
  metric("slim_slots", "gauge", "Slots (sequences decoded together).", s.slots);
  metric("slim_busy_slots", "gauge", "Slots running a request.", s.busy_slots);
  metric("slim_kv_cache_positions", "gauge", "Positions held in the slots' KV caches.", s.kv_positions);
  metric("slim_kv_cache_capacity_positions", "gauge", "Positions the slots' KV caches can hold.", s.context * s.slots);
  metric("slim_kv_cache_usage_ratio", "gauge", "kv_cache_positions / kv_cache_capacity_positions.",
         static_cast<double>(s.kv_positions) / static_cast<double>(std::max<int64_t>(s.context * s.slots, 1)));
  metric("slim_kv_cache_bytes", "gauge", "Bytes allocated for the KV caches.", s.kv_cache_bytes);
  return out.str();
}

void Server::Impl::routes() {
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    ++http_requests;
    if (ConnectionPool::rejecting()) {
      res.set_header("Connection", "close");
      send_error(res, ApiError(503, "too many connections; try again later", "", "too_many_connections", "server_error"));
      return httplib::Server::HandlerResponse::Handled;
    }
    // The page holds no secret: it asks for the key itself and sends it with each API call.
    const bool open = req.path == "/health" || (options.webui && req.path == "/");
    if (!options.api_key.empty() && !open && req.get_header_value("Authorization") != "Bearer " + options.api_key) {
      send_error(res, ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)", "", "invalid_api_key",
                               "authentication_error"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // httplib's own errors (404, 413, ...) get a body in OpenAI's form; an answer with one keeps it.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.content_length_ > 0) return httplib::Server::HandlerResponse::Unhandled;
    std::string message = res.status == 404   ? "no endpoint " + req.method + " " + req.path
                          : res.status == 413 ? "the request body is too large"
                                              : "HTTP " + std::to_string(res.status);
    const int status = res.status;
    send_error(res, ApiError(status, message, "", status == 413 ? "body_too_large" : "http_error"));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, ApiError(500, "internal error", "", "internal_error", "server_error"));
  });

  if (options.webui) {
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      // Everything the page uses is in it or on this server: no other origin may be reached.
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                     "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(kWebUiPage, "text/html; charset=utf-8");
    });
  }
  http.Get("/health", handle([this](const httplib::Request&, httplib::Response& res) {
    if (!ready) return send_json(res, 503, {{"status", "loading model"}});
    send_json(res, 200, {{"status", "ok"}});
  }));
  http.Get("/metrics", handle([this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics(), "text/plain; version=0.0.4");
  }));
  const auto models = handle([this](const httplib::Request&, httplib::Response& res) {
    require_ready();
    const ModelInfo& info = model->info();
    send_json(res, 200,
              {{"object", "list"},
               {"data", Json::array({{{"id", model_name},
                                      {"object", "model"},
                                      {"created", created},
                                      {"owned_by", "slim"},
                                      {"meta",
                                       {{"architecture", info.architecture},
                                        {"n_ctx", engine->context_length()},
                                        {"n_ctx_train", info.max_context},
                                        {"n_vocab", info.vocab_size},
                                        {"n_params_bytes", info.weight_bytes},
                                        {"slots", options.parallel},
                                        {"fill_in_the_middle", fim.has_value()}}}}})}});
  });
  http.Get("/v1/models", models);
  http.Get("/models", models);
  http.Get("/props", handle([this](const httplib::Request&, httplib::Response& res) {
    require_ready();
    send_json(res, 200, {{"model", model_name},
                         {"n_ctx", engine->context_length()},
                         {"total_slots", options.parallel},
                         {"fill_in_the_middle", fim.has_value()},
                         {"structured_output", true}});
  }));

  const auto chat = handle([this](const httplib::Request& req, httplib::Response& res) {
    require_ready();
    ChatRequest r = parse_chat_request(parse_body(req.body), draw_seed());
    const ChatTemplate& tmpl = custom_template ? *custom_template : model->chat_template();
    std::optional<ToolCallFormat> tools;
    if (!r.tools.is_null()) {
      tools = tool_style.format;
      use_tools(r, tool_style);
    }
    answer({.shape = Shape::chat, .prompt = chat_prompt(model->tokenizer(), tmpl, r), .generation = r.generation, .tools = tools},
           res);
  });
  http.Post("/v1/chat/completions", chat);
  http.Post("/chat/completions", chat);
  const auto completions = handle([this](const httplib::Request& req, httplib::Response& res) {
    require_ready();
    const CompletionRequest r = parse_completion_request(parse_body(req.body), draw_seed());
    Job job{.shape = Shape::completion, .prompt = r.ids, .generation = r.generation};
    if (r.text) job.prompt = model->tokenizer().encode(*r.text);
    if (r.echo) job.echo = r.text ? *r.text : model->tokenizer().decode(r.ids, true);
    if (job.prompt.empty()) throw ApiError(400, "'prompt' has no tokens", "prompt", "invalid_value");
    const int64_t vocab = model->info().vocab_size;
    for (int32_t id : job.prompt) {
      if (id >= vocab) throw ApiError(400, "token id " + std::to_string(id) + " is outside the vocabulary", "prompt", "invalid_value");
    }
    answer(job, res);
  });
  http.Post("/v1/completions", completions);
  http.Post("/completions", completions);
  http.Post("/infill", handle([this](const httplib::Request& req, httplib::Response& res) {
    require_ready();
    const InfillRequest r = parse_infill_request(parse_body(req.body), draw_seed());
    if (!fim) throw ApiError(400, missing_fim_message(), "", "fim_unsupported");
    const int64_t context = engine->context_length();
    const int64_t reserve = std::min<int64_t>(r.generation.options.max_tokens >= 0 ? r.generation.options.max_tokens : 256,
                                              context / 4);
    Job job{.shape = Shape::infill, .generation = r.generation};
    InfillPrompt prompt = infill_prompt(model->tokenizer(), *fim, r, context - reserve);
    job.prompt = std::move(prompt.tokens);
    job.truncated = prompt.truncated;
    answer(job, res);
  }));
  http.Post("/tokenize", handle([this](const httplib::Request& req, httplib::Response& res) {
    require_ready();
    const TokenizeRequest r = parse_tokenize_request(parse_body(req.body));
    const Tokenizer& t = model->tokenizer();
    const auto ids = t.encode(r.content, {.add_special_tokens = r.add_special});
    Json tokens = Json::array();
    for (int32_t id : ids) {
      if (r.with_pieces) {
        tokens.push_back({{"id", id}, {"piece", t.decode(std::vector<int32_t>{id})}});
      } else {
        tokens.push_back(id);
      }
    }
    send_json(res, 200, {{"tokens", tokens}});
  }));
  http.Post("/detokenize", handle([this](const httplib::Request& req, httplib::Response& res) {
    require_ready();
    const auto ids = parse_detokenize_request(parse_body(req.body));
    const Tokenizer& t = model->tokenizer();
    for (int32_t id : ids) {
      if (id >= t.vocab_size()) throw ApiError(400, "token id " + std::to_string(id) + " is outside the vocabulary", "tokens", "invalid_value");
    }
    send_json(res, 200, {{"content", t.decode(ids)}});
  }));
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& s = *impl_;
  s.model_name = s.options.model_name.empty()
                     ? std::filesystem::path(s.options.model_path).lexically_normal().filename().string()
                     : s.options.model_name;
  if (s.model_name.empty()) s.model_name = std::filesystem::path(s.options.model_path).parent_path().filename().string();
  const auto connections = static_cast<size_t>(std::max(s.options.max_connections, 1));
  s.http.new_task_queue = [connections] { return new ConnectionPool(connections); };
  s.http.set_payload_max_length(s.options.max_body_bytes);
  s.http.set_keep_alive_timeout(s.options.idle_timeout_seconds);
  s.http.set_read_timeout(30);
  s.http.set_write_timeout(30);
  // Debian's libcpp-httplib is built to listen with a backlog of 5: a burst of clients connecting
  // at once overflows it and the kernel resets some of them. bind() listens again with a backlog
  // that holds a burst (connections beyond --max-connections get their 503 from the server).
  s.http.set_socket_options([&s](socket_t sock) {
    httplib::default_socket_options(sock);
    s.listen_socket = sock;
  });
  s.routes();
}

Server::~Server() { stop(); }

int Server::bind() {
  Impl& s = *impl_;
  const bool ok = s.options.port == 0 ? (s.port = s.http.bind_to_any_port(s.options.host)) > 0
                                      : s.http.bind_to_port(s.options.host, s.port = s.options.port);
  if (!ok) throw Error(ErrorCode::io, "cannot listen on " + s.options.host + ":" + std::to_string(s.options.port));
  if (s.listen_socket >= 0) ::listen(s.listen_socket, 1024);  // Linux caps it at somaxconn
  return s.port;
}

void Server::run() {
  Impl& s = *impl_;
  std::exception_ptr load_error;
  std::thread loader([&] {
    try {
      s.load();
    } catch (...) {
      load_error = std::current_exception();
      s.http.stop();
    }
  });
  s.log("listening on http://" + s.options.host + ":" + std::to_string(s.port));
  s.http.listen_after_bind();
  loader.join();
  if (load_error) std::rethrow_exception(load_error);
}

void Server::stop() { impl_->http.stop(); }

}  // namespace slim::server
