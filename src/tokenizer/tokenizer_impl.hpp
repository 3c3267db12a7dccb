// Tokenizer::Impl: the parts of a loaded tokenizer.json and tokenizer_config.json, shared by
// tokenizer.cpp (encode/decode) and stream_decoder.cpp.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "slim/tokenizer.hpp"
#include "tokenizer/added_tokens.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/decoders.hpp"
#include "tokenizer/normalizers.hpp"
#include "tokenizer/post_processors.hpp"
#include "tokenizer/pre_tokenizers.hpp"

namespace slim {

struct Tokenizer::Impl {
  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tok::BpeModel> model;
  std::unique_ptr<tok::PostProcessor> post_processor;
  std::unique_ptr<tok::Decoder> decoder;

  std::vector<std::unique_ptr<tok::AddedToken>> added_tokens;
  std::unordered_map<int32_t, const tok::AddedToken*> added_by_id;
  std::unordered_map<std::string, int32_t> added_by_content;
  tok::AddedTokenMatcher raw_matcher;         // added tokens with normalized = false
  tok::AddedTokenMatcher normalized_matcher;  // the others, by normalized content

  int32_t vocab_size = 0;
  std::vector<bool> special;  // by id: skipped by skip_special_tokens
  std::optional<int32_t> bos, eos;
  bool add_bos = false, add_eos = false;  // tokenizer_config, used when no template is given
  bool clean_up_spaces = false;

  // A word cache kept between calls: encode() takes it and gives it back, so concurrent calls
  // never share one (a call that finds it taken starts an empty one).
  mutable std::mutex cache_mutex;
  mutable tok::WordCache shared_cache;
  tok::WordCache take_cache() const;
  void return_cache(tok::WordCache cache) const;

  std::string_view token(int32_t id) const;  // id in range
  void check_id(int32_t id) const;
  // Decodes token strings (no clean-up); see tok::DecodeFlags for the window arguments.
  std::string decode_tokens(std::vector<std::string> tokens, bool at_start, bool final, bool raw_bytes = false) const;
};

}  // namespace slim
