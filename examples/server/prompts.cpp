#include "prompts.hpp"

#include <algorithm>

#include "slim/error.hpp"

namespace slim::server {
namespace {

std::optional<int32_t> first_token(const Tokenizer& t, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const auto id = t.token_to_id(name)) return id;
  }
  return std::nullopt;
}

std::vector<int32_t> encode_plain(const Tokenizer& t, const std::string& text) {
  return t.encode(text, {.add_special_tokens = false, .parse_special = false});
}

void append(std::vector<int32_t>& to, const std::vector<int32_t>& ids) { to.insert(to.end(), ids.begin(), ids.end()); }

}  // namespace

std::vector<int32_t> chat_prompt(const Tokenizer& tokenizer, const ChatTemplate& chat_template, const ChatRequest& r) {
  ChatOptions options{.add_generation_prompt = true};
  if (!r.tools.is_null()) options.tools = r.tools;
  std::string text;
  try {
    text = chat_template.apply(ChatJson(r.messages), options);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::template_error || e.code() == ErrorCode::invalid_argument) {
      throw ApiError(400, std::string("the chat template refused the messages: ") + e.what(), "messages",
                     "template_error");
    }
    throw;
  }
  return tokenizer.encode(text, {.add_special_tokens = false});
}

std::optional<FimTokens> find_fim_tokens(const Tokenizer& t) {
  FimTokens f;
  const auto prefix = first_token(t, {"<|fim_prefix|>", "<fim_prefix>"});
  const auto suffix = first_token(t, {"<|fim_suffix|>", "<fim_suffix>"});
  const auto middle = first_token(t, {"<|fim_middle|>", "<fim_middle>"});
  if (!prefix || !suffix || !middle) return std::nullopt;
  f.prefix = *prefix;
  f.suffix = *suffix;
  f.middle = *middle;
  f.repo = first_token(t, {"<|repo_name|>", "<reponame>"});
  f.file_separator = first_token(t, {"<|file_sep|>", "<|file_separator|>", "<file_sep>"});
  return f;
}

std::string missing_fim_message() {
  return "this model has no fill-in-the-middle tokens: its vocabulary lacks <|fim_prefix|>, <|fim_suffix|> and "
         "<|fim_middle|> (Qwen2.5-Coder, CodeGemma) and <fim_prefix>, <fim_suffix> and <fim_middle> (StarCoder)";
}

InfillPrompt infill_prompt(const Tokenizer& tokenizer, const FimTokens& fim, const InfillRequest& r, int64_t budget) {
  const std::vector<int32_t> bos = tokenizer.encode("", {.add_special_tokens = true});
  std::vector<int32_t> extra;
  if (!r.extra.empty() && fim.file_separator) {
    // Qwen2.5-Coder's repository layout; llama.cpp names the repository and the current file so.
    if (fim.repo) {
      extra.push_back(*fim.repo);
      append(extra, encode_plain(tokenizer, "myproject\n"));
    }
    for (const auto& e : r.extra) {
      extra.push_back(*fim.file_separator);
      append(extra, encode_plain(tokenizer, e.filename + "\n"));
      append(extra, encode_plain(tokenizer, e.text));
    }
    extra.push_back(*fim.file_separator);
    append(extra, encode_plain(tokenizer, "filename\n"));
  } else if (!r.extra.empty()) {
    for (const auto& e : r.extra) append(extra, encode_plain(tokenizer, "\n\n--- snippet ---\n\n" + e.text));
  }
  std::vector<int32_t> prefix = encode_plain(tokenizer, r.prefix);
  std::vector<int32_t> suffix = encode_plain(tokenizer, r.suffix);
  const std::vector<int32_t> prompt = encode_plain(tokenizer, r.prompt);

  const int64_t fixed = static_cast<int64_t>(bos.size() + 3 + prompt.size());
  int64_t room = std::max<int64_t>(budget - fixed, 0);
  const auto size = [](const std::vector<int32_t>& v) { return static_cast<int64_t>(v.size()); };
  const bool truncated = size(extra) + size(prefix) + size(suffix) > room;
  if (truncated) {
    extra.clear();
    const int64_t suffix_take = std::min(size(suffix), std::max(room / 4, room - size(prefix)));
    const int64_t prefix_take = std::min(size(prefix), room - suffix_take);
    prefix.erase(prefix.begin(), prefix.end() - prefix_take);
    suffix.resize(static_cast<size_t>(suffix_take));
  }
  std::vector<int32_t> out = bos;
  append(out, extra);
  out.push_back(fim.prefix);
  append(out, prefix);
  out.push_back(fim.suffix);
  append(out, suffix);
  out.push_back(fim.middle);
  append(out, prompt);
  return {std::move(out), truncated};
}

}  // namespace slim::server
