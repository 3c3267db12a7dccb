// The built-in chat templates used when a model folder carries none (formats documented in
// docs/chat_templates.md).
#pragma once

#include <optional>
#include <string_view>

namespace slim::chat {

// Jinja source of built-in template `name`, or nullopt.
std::optional<std::string_view> builtin_template_source(std::string_view name);

// "chatml, gemma, llama3, phi3", for error messages.
std::string_view builtin_template_names();

}  // namespace slim::chat
