// The text side of a model: its tokenizer and chat template (from the folder's files, or from a
// GGUF file's tokenizer.* keys), loaded on first use.
#include <string_view>

#include "io/output_file.hpp"
#include "model/model_impl.hpp"
#include "slim/error.hpp"
#include "tokenizer/gguf_tokenizer.hpp"

namespace slim {
namespace {

// A GGUF file without tokenizer.chat_template gets the built-in template of its family, as a
// folder without one does (ChatTemplate::load).
std::string builtin_template_name(const Model::Impl& impl, const Tokenizer& tokenizer) {
  switch (impl.config.arch) {
    case Arch::llama:
      return tokenizer.token_to_id("<|start_header_id|>") || impl.config.vocab_size >= 128000 ? "llama3" : "chatml";
    case Arch::gemma:
    case Arch::gemma2:
    case Arch::gemma3: return "gemma";
    case Arch::phi3: return "phi3";
    default: return "chatml";
  }
}

void write_text_file(const std::filesystem::path& path, std::string_view text) {
  io::OutputFile file(path);
  file.write(text);
  file.commit();
}

}  // namespace

void save_gguf_tokenizer(const Model& model, const std::filesystem::path& dir) {
  const Model::Impl& impl = model.impl();
  if (!impl.gguf || !model.has_tokenizer()) return;
  tok::GgufTokenizer t = tok::tokenizer_from_gguf(*impl.gguf, impl.limits);
  std::string text;
  try {
    text = tok::tokenizer_json_text(t.file);
  } catch (const Error& e) {
    throw Error(e.code(), impl.dir.string() + ": tokenizer.ggml.*: " + e.what());
  }
  try {
    t.config["chat_template"] = model.chat_template().source();
  } catch (const Error&) {
    // No template in the file and none built in for the family: the folder has none either.
  }
  write_text_file(dir / "tokenizer.json", text);
  write_text_file(dir / "tokenizer_config.json", t.config.dump(2));
}

bool Model::has_tokenizer() const {
  if (impl_->gguf) return impl_->gguf->find("tokenizer.ggml.model") != nullptr;
  return std::filesystem::exists(impl_->dir / "tokenizer.json");
}

const Tokenizer& Model::tokenizer() const {
  std::call_once(impl_->tokenizer_once, [&] {
    impl_->tokenizer.emplace(impl_->gguf ? Tokenizer::from_gguf(impl_->dir, impl_->limits)
                                         : Tokenizer::load(impl_->dir, impl_->limits));
  });
  return *impl_->tokenizer;
}

const ChatTemplate& Model::chat_template() const {
  std::call_once(impl_->chat_template_once, [&] {
    if (impl_->gguf) {
      const Tokenizer& tok = tokenizer();
      auto text = [&](std::optional<int32_t> id) { return id ? tok.id_to_token(*id) : std::string(); };
      const auto source = impl_->gguf->string("tokenizer.chat_template");
      try {
        impl_->chat_template.emplace(source ? ChatTemplate::from_string(*source, text(tok.bos_id()), text(tok.eos_id()))
                                            : ChatTemplate::builtin(builtin_template_name(*impl_, tok),
                                                                    text(tok.bos_id()), text(tok.eos_id())));
      } catch (const Error& e) {
        throw Error(e.code(), impl_->dir.string() + ": tokenizer.chat_template: " + e.what());
      }
    } else {
      impl_->chat_template.emplace(ChatTemplate::load(impl_->dir));
    }
    impl_->chat_template->set_limits(impl_->limits.chat_template);
  });
  return *impl_->chat_template;
}

}  // namespace slim
