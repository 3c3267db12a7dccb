// slim-server: an OpenAI-compatible local server (docs/server.md).
//   slim-server --model DIR [--host 127.0.0.1] [--port 8080] [--parallel N] [--context N]
//               [--threads N] [--weights ...] [--kv-type f32|f16] [--api-key KEY] [--chat-template FILE]
#include <signal.h>

#include <cstdio>
#include <thread>

#include "../cli.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
  CLI::App app("OpenAI-compatible HTTP server with continuous batching", "slim-server");
  slim::cli::ModelArgs model;
  slim::server::ServerOptions options;
  slim::cli::add_model_options(app, model);
  app.add_option("--host", options.host, "address to listen on (default 127.0.0.1: this machine only)");
  app.add_option("--port", options.port, "port to listen on; 0 = any free port (default 8080)")
      ->check(slim::cli::must_be<int>("between 0 and 65535", [](int p) { return p >= 0 && p <= 65535; }));
  app.add_option("--parallel", options.parallel, "requests decoded together, each in a slot with its own KV cache (default 4)")
      ->check(slim::cli::at_least(1));
  app.add_option("--api-key", options.api_key, "require 'Authorization: Bearer KEY' on every endpoint but /health");
  app.add_option("--chat-template", options.chat_template_file, "a Jinja chat template file to use instead of the model's");
  app.add_option("--alias", options.model_name, "the model id /v1/models reports (default: the folder's name)");
  app.add_option("--max-queue", options.max_queued, "requests waiting for a slot; beyond them 503 (default 64)")
      ->check(slim::cli::at_least(0));
  app.add_option("--max-connections", options.max_connections, "connections served at once; beyond them 503 (default 64)")
      ->check(slim::cli::at_least(1));
  app.add_option("--max-body-bytes", options.max_body_bytes, "largest request body; larger ones get 413 (default 8 MiB)")
      ->check(slim::cli::at_least<size_t>(1024));
  bool no_webui = false;
  app.add_flag("--no-webui", no_webui, "do not serve the chat page at GET /");
  app.add_option("--idle-timeout", options.idle_timeout_seconds, "seconds an idle keep-alive connection stays open (default 5)")
      ->check(slim::cli::at_least(1));
  app.footer(slim::cli::examples({
      "build/examples/slim-server --model ../shared/models/stories260K --port 8080 &",
      "curl -s localhost:8080/v1/completions -d '{\"prompt\": \"Once upon a time\", \"max_tokens\": 32}'"}));

  return slim::cli::run(app, argc, argv, [&]() -> int {
    const auto log = slim::cli::stderr_log("slim-server");
    options.model_path = model.path;
    options.webui = !no_webui;
    options.load = slim::cli::load_options(model, log);
    options.context = model.context;
    options.kv_type = model.kv_type;
    options.log = [](const std::string& line) { std::fprintf(stderr, "slim-server: %s\n", line.c_str()); };
    // SIGINT and SIGTERM stop the server through a thread of their own (no handler state).
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a client that goes away is a failed write, not the end of the server
    slim::server::Server server(options);
    std::printf("listening on http://%s:%d\n", options.host.c_str(), server.bind());
    std::fflush(stdout);
    std::thread waiter([&] {
      int signal_number = 0;
      sigwait(&stop_signals, &signal_number);
      server.stop();
    });
    waiter.detach();
    server.run();
    return 0;
  });
}
