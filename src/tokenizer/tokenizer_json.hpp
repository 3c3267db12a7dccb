// Reads tokenizer.json with nlohmann's SAX interface: the big parts (model.vocab, model.merges) go
// straight into compact arrays, everything else into a small DOM. Building a full DOM of a
// 17-33 MB file takes 3x longer than this.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "slim/limits.hpp"
#include "tokenizer/vocab.hpp"

namespace slim::tok {

struct RawMerges {
  std::string arena;
  struct Entry {
    uint32_t offset;
    uint32_t left_length;   // left part is arena[offset, offset + left_length)
    uint32_t right_length;  // right part follows it directly
  };
  std::vector<Entry> entries;
};

struct TokenizerFile {
  nlohmann::json doc;  // the file without model.vocab and model.merges
  Vocab model_vocab;   // model.vocab (not yet built)
  RawMerges merges;    // model.merges, either format
  bool has_vocab = false;
  bool has_merges = false;
};

// Throws slim::Error(invalid_format) naming the byte offset of a syntax error, and
// slim::Error(limit_exceeded) for a token id beyond limits.max_vocab_size or more merges than
// limits.max_merges.
TokenizerFile parse_tokenizer_json(std::string_view text, const Limits& limits = {});

// The reverse (tokenizer_json_writer.cpp): `file` as tokenizer.json text, the vocabulary in id
// order and the merges as pairs. Throws slim::Error(unsupported) when a token is not valid UTF-8,
// which JSON cannot hold.
std::string tokenizer_json_text(const TokenizerFile& file);

}  // namespace slim::tok
