// slim-server's requests: the JSON bodies of the OpenAI and llama.cpp endpoints checked and turned
// into what the engine runs. Parsing is separate from HTTP so that it can be fuzzed on its own.
// Unknown fields are ignored (clients send many); a known field of the wrong type or out of range
// is an ApiError naming it.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slim/generate.hpp"
#include "slim/tool_calls.hpp"

namespace slim::server {

using Json = nlohmann::ordered_json;  // keeps the order of object keys (tools | tojson)

// An error answered as OpenAI's {"error": {"message", "type", "param", "code"}} with an HTTP status.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string param = {}, std::string code = {},
           std::string type = "invalid_request_error")
      : std::runtime_error(message), status(status), param(std::move(param)), code(std::move(code)),
        type(std::move(type)) {}
  int status;
  std::string param, code, type;
  Json body() const;
};

// Parses a request body: malformed JSON or a body that is not an object is a 400.
Json parse_body(const std::string& body);

// What every generating endpoint shares.
struct GenerationRequest {
  GenerateOptions options;      // max_tokens filled in later when the request gave none (-1 here)
  bool stream = false;
  bool include_usage = false;   // stream_options.include_usage
};

struct ChatRequest {
  GenerationRequest generation;
  Json messages;  // an array of message objects, content flattened to text
  Json tools;     // null when absent, or when tool_choice is none (the model is not shown them)
  ToolCallOptions tool_choice;  // auto, required or a named function
};

struct CompletionRequest {
  GenerationRequest generation;
  std::optional<std::string> text;  // the prompt as text, or
  std::vector<int32_t> ids;         // as token ids
  bool echo = false;
};

struct InfillRequest {
  GenerationRequest generation;
  std::string prefix, suffix, prompt;  // input_prefix, input_suffix, prompt (after the middle token)
  struct Extra {
    std::string filename, text;
  };
  std::vector<Extra> extra;  // input_extra: other files of the project
};

// `seed` is used when the request names none (the server draws one per request).
ChatRequest parse_chat_request(const Json& body, uint64_t seed);
CompletionRequest parse_completion_request(const Json& body, uint64_t seed);
InfillRequest parse_infill_request(const Json& body, uint64_t seed);

// POST /tokenize {"content", "add_special"?} and POST /detokenize {"tokens"}.
struct TokenizeRequest {
  std::string content;
  bool add_special = false;
  bool with_pieces = false;
};
TokenizeRequest parse_tokenize_request(const Json& body);
std::vector<int32_t> parse_detokenize_request(const Json& body);

}  // namespace slim::server
