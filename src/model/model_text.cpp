// The text side of a model folder: its tokenizer and chat template, loaded on first use.
#include "model/model_impl.hpp"

namespace slim {

bool Model::has_tokenizer() const { return std::filesystem::exists(impl_->dir / "tokenizer.json"); }

const Tokenizer& Model::tokenizer() const {
  std::call_once(impl_->tokenizer_once, [&] { impl_->tokenizer.emplace(Tokenizer::load(impl_->dir, impl_->limits)); });
  return *impl_->tokenizer;
}

const ChatTemplate& Model::chat_template() const {
  std::call_once(impl_->chat_template_once, [&] {
    impl_->chat_template.emplace(ChatTemplate::load(impl_->dir));
    impl_->chat_template->set_limits(impl_->limits.chat_template);
  });
  return *impl_->chat_template;
}

}  // namespace slim
