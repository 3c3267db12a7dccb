// A GGUF file's tokenizer.ggml.* keys as the tokenizer.json (and tokenizer_config.json) that Hugging
// Face's converters would have written for the same model, so one tokenizer implementation serves
// both: `llama` vocabularies (SentencePiece: tokens, scores, token types, <0xNN> byte tokens) become
// a BPE model with byte fallback whose merges come from the scores, `gpt2` ones (tokens, merges) a
// byte-level BPE model with tokenizer.ggml.pre's pre-tokenizer.
#pragma once

#include <string_view>

#include "io/gguf.hpp"
#include "slim/limits.hpp"
#include "tokenizer/tokenizer_json.hpp"

namespace slim::tok {

struct GgufTokenizer {
  TokenizerFile file;     // as parse_tokenizer_json would return it
  nlohmann::json config;  // the tokenizer_config.json equivalent (bos/eos tokens, add_bos/add_eos)
};

// Throws slim::Error naming the key at fault: no tokenizer.ggml.model, a model other than llama /
// gpt2, arrays of different lengths, an id out of range.
GgufTokenizer tokenizer_from_gguf(const io::GgufFile& gguf, const Limits& limits = {});

// Whether tokenizer.ggml.pre names a pre-tokenizer slim knows. Others (and a missing key) get
// GPT-2's split, which the caller should warn about.
bool gguf_pre_known(std::string_view pre);

}  // namespace slim::tok
