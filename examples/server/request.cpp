#include "request.hpp"

#include <cmath>
#include <limits>

#include "slim/error.hpp"

namespace slim::server {
namespace {

constexpr size_t kMaxStops = 16;
constexpr size_t kMaxStopBytes = 1024;

ApiError bad(const std::string& param, const std::string& message) {
  return ApiError(400, message, param, "invalid_value");
}

// A member that is present and not null (clients send null for "not set").
const Json* member(const Json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<double> number(const Json& body, const char* name) {
  const Json* v = member(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw bad(name, std::string("'") + name + "' must be a number");
  const double d = v->get<double>();
  if (!std::isfinite(d)) throw bad(name, std::string("'") + name + "' must be finite");
  return d;
}

std::optional<int64_t> integer(const Json& body, const char* name) {
  const Json* v = member(body, name);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) {
    const auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) throw bad(name, std::string("'") + name + "' is too large");
    return static_cast<int64_t>(u);
  }
  if (!v->is_number_integer()) throw bad(name, std::string("'") + name + "' must be an integer");
  return v->get<int64_t>();
}

std::optional<bool> boolean(const Json& body, const char* name) {
  const Json* v = member(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw bad(name, std::string("'") + name + "' must be true or false");
  return v->get<bool>();
}

std::optional<std::string> string(const Json& body, const char* name) {
  const Json* v = member(body, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw bad(name, std::string("'") + name + "' must be a string");
  return v->get<std::string>();
}

void in_range(const char* name, double v, double low, double high) {
  if (v < low || v > high) {
    throw bad(name, std::string("'") + name + "' must be between " + Json(low).dump() + " and " + Json(high).dump());
  }
}

// Structured output: OpenAI's response_format ({"type": "json_object"} or {"type": "json_schema",
// "json_schema": {"name", "schema", "strict"}}; llama-server's json_object with a "schema" too),
// and llama.cpp's "json_schema" (a schema) and "grammar" (GBNF) fields. At most one of them.
std::optional<Grammar> parse_structured_output(const Json& body) {
  const auto compile = [](const std::string& param, const auto& make) {
    try {
      return make();
    } catch (const Error& e) {  // the message names the keyword or the position
      throw ApiError(400, "'" + param + "': " + e.what(), param,
                     e.code() == ErrorCode::unsupported ? "unsupported_value" : "invalid_value");
    }
  };
  const Json* format = member(body, "response_format");
  const Json* schema = member(body, "json_schema");
  const Json* gbnf = member(body, "grammar");
  if ((format != nullptr) + (schema != nullptr) + (gbnf != nullptr) > 1) {
    throw bad(format ? "response_format" : "json_schema", "give one of 'response_format', 'json_schema' and 'grammar'");
  }
  if (schema) {
    if (!schema->is_object() && !schema->is_boolean()) throw bad("json_schema", "'json_schema' must be a JSON Schema object");
    return compile("json_schema", [&] { return Grammar::from_json_schema(schema->dump()); });
  }
  if (gbnf) {
    if (!gbnf->is_string()) throw bad("grammar", "'grammar' must be a string (GBNF)");
    return compile("grammar", [&] { return Grammar::from_gbnf(gbnf->get<std::string>()); });
  }
  if (!format) return std::nullopt;
  if (!format->is_object()) throw bad("response_format", "'response_format' must be an object");
  const auto type = string(*format, "type");
  if (!type) throw ApiError(400, "'response_format.type' is required", "response_format.type", "missing_field");
  if (*type == "text") return std::nullopt;
  if (*type == "json_object") {
    if (const Json* s = member(*format, "schema")) {
      return compile("response_format.schema", [&] { return Grammar::from_json_schema(s->dump()); });
    }
    return Grammar::any_json();
  }
  if (*type != "json_schema") {
    throw ApiError(400, "'response_format.type' must be text, json_object or json_schema, not '" + *type + "'",
                   "response_format.type", "unsupported_value");
  }
  const Json* js = member(*format, "json_schema");
  if (!js || !js->is_object()) {
    throw ApiError(400, "'response_format.json_schema' is required: an object with the 'schema'",
                   "response_format.json_schema", "missing_field");
  }
  const Json* s = member(*js, "schema");
  if (!s) {
    throw ApiError(400, "'response_format.json_schema.schema' is required", "response_format.json_schema.schema",
                   "missing_field");
  }
  return compile("response_format.json_schema.schema", [&] { return Grammar::from_json_schema(s->dump()); });
}

// The sampling and length fields every generating endpoint takes (OpenAI's names and llama.cpp's).
GenerationRequest parse_generation(const Json& body, uint64_t seed, std::initializer_list<const char*> length_names) {
  GenerationRequest g;
  GenerateOptions& o = g.options;
  SamplerOptions& s = o.sampler;
  o.max_tokens = -1;
  for (const char* name : length_names) {
    if (const auto n = integer(body, name)) {
      if (*n == -1 && std::string_view(name) == "n_predict") continue;  // llama.cpp: no limit
      if (*n < 0 || *n > std::numeric_limits<int>::max()) throw bad(name, std::string("'") + name + "' must be 0 or more");
      o.max_tokens = static_cast<int>(*n);
    }
  }
  if (const auto n = integer(body, "n"); n && *n != 1) {
    throw bad("n", "'n' must be 1: slim-server returns one choice a request");
  }
  // OpenAI's default temperature is 1; 0 is greedy.
  s.temperature = 1.0f;
  if (const auto t = number(body, "temperature")) {
    in_range("temperature", *t, 0, 100);
    s.temperature = static_cast<float>(*t);
  }
  if (const auto p = number(body, "top_p")) {
    if (*p <= 0 || *p > 1) throw bad("top_p", "'top_p' must be greater than 0 and at most 1");
    s.top_p = static_cast<float>(*p);
  }
  if (const auto k = integer(body, "top_k")) {
    if (*k < 0 || *k > std::numeric_limits<int>::max()) throw bad("top_k", "'top_k' must be 0 (off) or more");
    s.top_k = static_cast<int>(*k);
  }
  if (const auto p = number(body, "min_p")) {
    in_range("min_p", *p, 0, 1);
    s.min_p = static_cast<float>(*p);
  }
  for (const char* name : {"repeat_penalty", "repetition_penalty"}) {
    if (const auto r = number(body, name)) {
      if (*r <= 0) throw bad(name, std::string("'") + name + "' must be greater than 0");
      s.repetition_penalty = static_cast<float>(*r);
    }
  }
  if (const auto n = integer(body, "repeat_last_n")) {
    if (*n < 0 || *n > 1 << 20) throw bad("repeat_last_n", "'repeat_last_n' must be between 0 and 1048576");
    s.penalty_last_n = static_cast<int>(*n);
  }
  if (const auto p = number(body, "presence_penalty")) {
    in_range("presence_penalty", *p, -2, 2);
    s.presence_penalty = static_cast<float>(*p);
  }
  if (const auto p = number(body, "frequency_penalty")) {
    in_range("frequency_penalty", *p, -2, 2);
    s.frequency_penalty = static_cast<float>(*p);
  }
  o.grammar = parse_structured_output(body);
  s.seed = seed;
  if (const auto v = integer(body, "seed")) s.seed = static_cast<uint64_t>(*v);
  if (const Json* bias = member(body, "logit_bias")) {
    if (!bias->is_object()) throw bad("logit_bias", "'logit_bias' must be an object of token ids to numbers");
    for (const auto& [key, value] : bias->items()) {
      int32_t id = -1;
      try {
        size_t used = 0;
        const long v = std::stol(key, &used);
        if (used == key.size() && v >= 0 && v <= std::numeric_limits<int32_t>::max()) id = static_cast<int32_t>(v);
      } catch (const std::exception&) {
      }
      if (id < 0) throw bad("logit_bias", "'logit_bias' keys must be token ids, not '" + key + "'");
      if (!value.is_number() || !std::isfinite(value.get<double>())) {
        throw bad("logit_bias", "'logit_bias' values must be numbers");
      }
      s.logit_bias[id] = static_cast<float>(std::clamp(value.get<double>(), -100.0, 100.0));
    }
  }
  if (const Json* stop = member(body, "stop")) {
    if (stop->is_string()) {
      o.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      if (stop->size() > kMaxStops) throw bad("stop", "'stop' may hold at most " + std::to_string(kMaxStops) + " strings");
      for (const Json& s : *stop) {
        if (!s.is_string()) throw bad("stop", "'stop' must be a string or a list of strings");
        o.stop.push_back(s.get<std::string>());
      }
    } else {
      throw bad("stop", "'stop' must be a string or a list of strings");
    }
    for (const auto& s : o.stop) {
      if (s.size() > kMaxStopBytes) throw bad("stop", "each 'stop' string may be at most 1024 bytes");
    }
  }
  if (const auto e = boolean(body, "ignore_eos")) o.stop_at_eos = !*e;
  g.stream = boolean(body, "stream").value_or(false);
  if (const Json* so = member(body, "stream_options")) {
    if (!so->is_object()) throw bad("stream_options", "'stream_options' must be an object");
    g.include_usage = boolean(*so, "include_usage").value_or(false);
  }
  return g;
}

// A message's content as text: a string, or the text parts of a list of content parts.
std::string content_text(const Json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw bad(param, "'" + param + "' must be a string or a list of content parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string at = param + "[" + std::to_string(i) + "]";
    if (!part.is_object()) throw bad(at, "'" + at + "' must be a content part object");
    const auto type = string(part, "type");
    if (type != "text") {
      throw ApiError(400, "'" + at + ".type' " + (type ? "'" + *type + "' is not supported: slim-server takes text parts" : "is missing"),
                     at + ".type", "unsupported_content");
    }
    const Json* t = member(part, "text");
    if (!t || !t->is_string()) throw bad(at + ".text", "'" + at + ".text' must be a string");
    if (!text.empty()) text += '\n';
    text += t->get<std::string>();
  }
  return text;
}

}  // namespace

Json ApiError::body() const {
  return {{"error",
           {{"message", what()},
            {"type", type},
            {"param", param.empty() ? Json(nullptr) : Json(param)},
            {"code", code.empty() ? Json(nullptr) : Json(code)}}}};
}

Json parse_body(const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ApiError(400, "the request body is not valid JSON", "", "invalid_json");
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object", "", "invalid_json");
  return j;
}

ChatRequest parse_chat_request(const Json& body, uint64_t seed) {
  ChatRequest r;
  r.generation = parse_generation(body, seed, {"max_tokens", "max_completion_tokens", "n_predict"});
  const Json* messages = member(body, "messages");
  if (!messages) throw ApiError(400, "'messages' is required", "messages", "missing_field");
  if (!messages->is_array() || messages->empty()) throw bad("messages", "'messages' must be a non-empty list");
  r.messages = Json::array();
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& m = (*messages)[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw bad(at, "'" + at + "' must be an object");
    const auto role = string(m, "role");
    if (!role) throw ApiError(400, "'" + at + ".role' is required", at + ".role", "missing_field");
    Json out = m;
    out["role"] = *role == "developer" ? "system" : *role;  // OpenAI's newer name for system
    if (const Json* content = member(m, "content")) {
      out["content"] = content_text(*content, at + ".content");
    } else if (!member(m, "tool_calls")) {
      throw ApiError(400, "'" + at + ".content' is required", at + ".content", "missing_field");
    }
    if (const Json* calls = member(m, "tool_calls")) {
      if (!calls->is_array()) throw bad(at + ".tool_calls", "'" + at + ".tool_calls' must be a list");
      // Templates read arguments as an object (tool_call.arguments | tojson); OpenAI sends a string.
      for (Json& call : out["tool_calls"]) {
        if (!call.is_object()) throw bad(at + ".tool_calls", "'" + at + ".tool_calls' must hold objects");
        Json* f = call.contains("function") ? &call["function"] : &call;
        if (f->is_object() && f->contains("arguments") && (*f)["arguments"].is_string()) {
          Json args = Json::parse((*f)["arguments"].get<std::string>(), nullptr, false);
          if (!args.is_discarded() && args.is_object()) (*f)["arguments"] = std::move(args);
        }
      }
    }
    r.messages.push_back(std::move(out));
  }
  r.tools = nullptr;
  if (const Json* tools = member(body, "tools")) {
    if (!tools->is_array()) throw bad("tools", "'tools' must be a list of tool definitions");
    for (const Json& t : *tools) {
      if (!t.is_object()) throw bad("tools", "'tools' must hold objects");
    }
    if (!tools->empty()) r.tools = *tools;
  }
  if (const Json* choice = member(body, "tool_choice")) {
    const char* kinds = "'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\"}}";
    if (choice->is_string()) {
      const auto c = choice->get<std::string>();
      if (c != "none" && c != "auto" && c != "required") throw bad("tool_choice", kinds);
      if (c == "none") r.tools = nullptr;  // the model is not shown the tools
      if (c == "required") r.tool_choice.choice = ToolChoice::required;
    } else {
      const Json* f = choice->is_object() ? member(*choice, "function") : nullptr;
      const Json* name = f && f->is_object() ? member(*f, "name") : nullptr;
      if (!name || !name->is_string()) throw bad("tool_choice", kinds);
      r.tool_choice = {.choice = ToolChoice::function, .function = name->get<std::string>()};
    }
    if (r.tool_choice.choice != ToolChoice::automatic && r.tools.is_null()) {
      throw bad("tool_choice", "'tool_choice' asks for a tool call but the request has no 'tools'");
    }
  }
  if (const auto parallel = boolean(body, "parallel_tool_calls")) r.tool_choice.parallel = *parallel;
  if (!r.tools.is_null() && r.generation.options.grammar) {
    throw bad("tools", "give 'tools' or a structured output ('response_format', 'json_schema', 'grammar'), not both");
  }
  return r;
}

CompletionRequest parse_completion_request(const Json& body, uint64_t seed) {
  CompletionRequest r;
  r.generation = parse_generation(body, seed, {"max_tokens", "n_predict"});
  const Json* prompt = member(body, "prompt");
  if (!prompt) throw ApiError(400, "'prompt' is required", "prompt", "missing_field");
  const Json* p = prompt;
  // A list of one prompt is that prompt; OpenAI's several prompts a request are not supported.
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) p = &(*p)[0];
  if (p->is_string()) {
    r.text = p->get<std::string>();
  } else if (p->is_array()) {
    for (const Json& id : *p) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
        throw bad("prompt", "'prompt' must be a string or a list of token ids (one prompt a request)");
      }
      r.ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  } else {
    throw bad("prompt", "'prompt' must be a string or a list of token ids");
  }
  r.echo = boolean(body, "echo").value_or(false);
  return r;
}

InfillRequest parse_infill_request(const Json& body, uint64_t seed) {
  InfillRequest r;
  r.generation = parse_generation(body, seed, {"n_predict", "max_tokens"});
  r.prefix = string(body, "input_prefix").value_or("");
  r.suffix = string(body, "input_suffix").value_or("");
  r.prompt = string(body, "prompt").value_or("");
  if (const Json* extra = member(body, "input_extra")) {
    if (!extra->is_array()) throw bad("input_extra", "'input_extra' must be a list of {filename, text}");
    for (size_t i = 0; i < extra->size(); ++i) {
      const Json& e = (*extra)[i];
      const std::string at = "input_extra[" + std::to_string(i) + "]";
      if (!e.is_object()) throw bad(at, "'" + at + "' must be an object {filename, text}");
      r.extra.push_back({string(e, "filename").value_or("tmp"), string(e, "text").value_or("")});
    }
  }
  return r;
}

TokenizeRequest parse_tokenize_request(const Json& body) {
  TokenizeRequest r;
  const auto content = string(body, "content");
  if (!content) throw ApiError(400, "'content' is required", "content", "missing_field");
  r.content = *content;
  r.add_special = boolean(body, "add_special").value_or(false);
  r.with_pieces = boolean(body, "with_pieces").value_or(false);
  return r;
}

std::vector<int32_t> parse_detokenize_request(const Json& body) {
  const Json* tokens = member(body, "tokens");
  if (!tokens) throw ApiError(400, "'tokens' is required", "tokens", "missing_field");
  if (!tokens->is_array()) throw bad("tokens", "'tokens' must be a list of token ids");
  std::vector<int32_t> ids;
  for (const Json& id : *tokens) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      throw bad("tokens", "'tokens' must be a list of token ids");
    }
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return ids;
}

}  // namespace slim::server
