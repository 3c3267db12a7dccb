// A GGUF file's tokenizer.ggml.* keys as the tokenizer.json (and tokenizer_config.json) that Hugging
// Face's converters would have written for the same model, so one tokenizer implementation serves
// both: `llama` vocabularies (SentencePiece: tokens, scores, token types, <0xNN> byte tokens) become
// a BPE model with byte fallback whose merges come from the scores, `gpt2` ones (tokens, merges) a
// byte-level BPE model with tokenizer.ggml.pre's pre-tokenizer.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "io/gguf.hpp"
#include "io/gguf_writer.hpp"
#include "slim/tokenizer.hpp"
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

// The reverse: the tokenizer.ggml.* keys that tokenizer_from_gguf turns back into `file` (a parsed
// tokenizer.json) with `config` (its tokenizer_config.json, or null) and `tokenizer` (the two
// built): SentencePiece-style BPE with byte fallback as `llama` (scores that rank the merges as the
// file does), byte-level BPE as `gpt2` with its merges and the tokenizer.ggml.pre whose
// pre-tokenizer equals the file's. The vocabulary is padded with [PAD<id>] tokens to
// `vocab_size` (the model's embedding rows), as llama.cpp's converter does. `warn` hears of what
// GGUF cannot say (a pre-tokenizer no `pre` name has). Returns whether an added token strips the
// whitespace after it (rstrip), which GGUF has no key for: readers give it to Phi-3's tokens when
// general.name says Phi-3. Throws slim::Error(unsupported) for another model type, or more tokens
// than vocab_size.
bool add_gguf_tokenizer(const TokenizerFile& file, const nlohmann::json& config, const Tokenizer& tokenizer,
                        int64_t vocab_size, io::GgufWriter& out, const std::function<void(const std::string&)>& warn);

}  // namespace slim::tok
