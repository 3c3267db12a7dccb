// slim::Tokenizer: a Hugging Face tokenizer.json (BPE models: SentencePiece-style with byte
// fallback, and GPT-2/Llama 3/Qwen byte-level) that gives the same ids and text as Hugging Face.
//
// Text is UTF-8. Input that is not valid UTF-8 never fails: each byte of an ill-formed sequence is
// kept as a byte of its own. Byte-level models encode it as that byte's token; models with byte
// fallback as its <0xNN> token; other models as the unknown token (or nothing when the model has
// none). decode() returns valid UTF-8: byte sequences that do not form UTF-8 become U+FFFD (one per
// maximal ill-formed subpart, as the WHATWG/Hugging Face decoders do).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slim/limits.hpp"

namespace slim {

struct EncodeOptions {
  bool add_special_tokens = true;  // apply the post-processor template (BOS etc.), like HF encode()
  bool parse_special = true;       // honour special-token text in the input (HF default); false =
                                   // treat it as plain text (non-special added tokens still match)
};

class Tokenizer {
 public:
  // Reads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json (add_bos_token /
  // add_eos_token, bos/eos token strings, clean_up_tokenization_spaces). Throws slim::Error naming
  // the file and the field or component at fault; slim::Error(limit_exceeded) when a file exceeds
  // one of `limits` (max_tokenizer_json_bytes, max_json_bytes, max_vocab_size, max_merges,
  // max_added_tokens). A GGUF file, or a folder holding one and no tokenizer.json, gives
  // from_gguf(that file).
  static Tokenizer load(const std::filesystem::path& model_dir, const Limits& limits = {});
  static Tokenizer from_json(std::string_view tokenizer_json,
                             std::string_view tokenizer_config_json = {}, const Limits& limits = {});
  // The vocabulary of a GGUF file (its tokenizer.ggml.* keys) as the tokenizer.json Hugging Face
  // would have for it: `llama` (SentencePiece) and `gpt2` (byte-level BPE with the pre-tokenizer
  // that tokenizer.ggml.pre names) models, bos / eos / add_bos / add_eos (docs/gguf.md).
  static Tokenizer from_gguf(const std::filesystem::path& gguf_file, const Limits& limits = {});

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;
  // Throws slim::Error (invalid_argument) for an id outside [0, vocab_size()).
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  int32_t vocab_size() const;  // including added tokens (max id + 1)
  std::optional<int32_t> bos_id() const;  // from tokenizer_config / post-processor
  std::optional<int32_t> eos_id() const;  // from tokenizer_config
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The raw vocabulary string (e.g. "▁the", "Ġthe", "<0x0A>"); "" for an id no token uses.
  // Throws slim::Error for out-of-range ids.
  std::string id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;
  // The bytes a token adds to the text when it follows other text: the decoder's work on the
  // token alone ("▁the" -> " the", "Ġthe" -> " the", "<0x0A>" -> "\n"), bytes kept as they are
  // (a token may hold part of a UTF-8 character). No clean-up of spaces. Throws for ids out of range.
  std::string token_bytes(int32_t id) const;

  // Streaming detokenizer for generation: push() one id at a time; it returns the newly completed
  // text (never a partial UTF-8 character); the concatenation of all push() results plus finish()
  // equals decode(all ids). An id outside [0, vocab_size()) gives nothing (a model's embedding may
  // have more rows than the tokenizer has tokens). The Tokenizer must outlive it.
  class StreamDecoder {
   public:
    StreamDecoder(StreamDecoder&&) noexcept;
    StreamDecoder& operator=(StreamDecoder&&) noexcept;
    ~StreamDecoder();
    std::string push(int32_t id);
    std::string finish();  // the held-back rest; the decoder then starts over

   private:
    friend class Tokenizer;
    struct State;
    explicit StreamDecoder(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
  };
  // With `context` (the last few ids before the first one pushed), the pushed ids decode as text
  // that follows it: context text + pushed text reads as decode(context + pushed), where alone a
  // SentencePiece decoder would drop the first word's leading space.
  StreamDecoder stream_decoder(bool skip_special_tokens = false, std::span<const int32_t> context = {}) const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slim
