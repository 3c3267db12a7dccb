// slim-server: an OpenAI-compatible HTTP server over slim::Engine (continuous batching, prompt
// reuse, fill-in-the-middle). It listens before the model has loaded (/health answers 503 until
// then) and keeps serving whatever a request sends.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "slim/model.hpp"

namespace slim::server {

struct ServerOptions {
  std::string model_path;
  LoadOptions load;                 // threads, weights, mmap
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 4;                 // engine slots
  int64_t context = 0;              // per slot; 0 = min(max_position_embeddings, 4096)
  DType kv_type = DType::f32;       // what the slots' KV caches hold (f32 or f16)
  std::string api_key;              // empty = no authentication
  std::string chat_template_file;   // replaces the model's chat template
  std::string model_name;           // the id /v1/models reports; default: the folder's name
  int max_queued = 64;              // requests waiting for a slot; beyond them 503
  int max_connections = 64;         // connections served at once; beyond them 503
  size_t max_body_bytes = 8u << 20; // larger bodies are 413
  int idle_timeout_seconds = 5;     // keep-alive connections idle this long are closed
  bool webui = true;                // GET / serves the chat page
  std::function<void(const std::string&)> log;  // one line a message
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  // Binds the address (throws slim::Error(io) when it cannot) and returns the port bound (the
  // one asked for, or the kernel's choice for port 0).
  int bind();
  // Loads the model, then serves until stop(). Throws the error that stopped the load.
  void run();
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace slim::server
