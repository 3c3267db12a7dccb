#include "chat/builtin_templates.hpp"

namespace slim::chat {

namespace {

// ChatML (Qwen2/2.5, SmolLM2): <|im_start|>role\ncontent<|im_end|>\n per message. Unlike Qwen2.5's
// own template it adds no default system prompt.
constexpr std::string_view kChatml =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

// Gemma turns (Gemma 1/2/3): bos, then <start_of_turn>user|model\ncontent<end_of_turn>\n. Gemma
// has no system role: a leading system message is prepended to the first user turn followed by a
// blank line, as Gemma 3's template does. Roles must alternate user/assistant.
constexpr std::string_view kGemma =
    "{{- bos_token }}"
    "{%- if messages and messages[0]['role'] == 'system' %}"
    "{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}"
    "{%- set first_user_prefix = '' %}"
    "{%- set loop_messages = messages %}"
    "{%- endif %}"
    "{%- for message in loop_messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif %}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{- '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') }}"
    "{{- message['content'] | trim }}"
    "{{- '<end_of_turn>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}";

// Llama 3 headers (Llama 3 / 3.1 / 3.2 instruct, as Llama 3.1's own template minus tools):
// bos, then <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|> per message.
constexpr std::string_view kLlama3 =
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

// Phi-3: <|role|>\ncontent<|end|>\n per message (system, user, assistant).
constexpr std::string_view kPhi3 =
    "{%- for message in messages %}"
    "{{- '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|assistant|>\\n' }}{%- endif %}";

}  // namespace

std::optional<std::string_view> builtin_template_source(std::string_view name) {
  if (name == "chatml") return kChatml;
  if (name == "gemma") return kGemma;
  if (name == "llama3") return kLlama3;
  if (name == "phi3") return kPhi3;
  return std::nullopt;
}

std::string_view builtin_template_names() { return "chatml, gemma, llama3, phi3"; }

}  // namespace slim::chat
