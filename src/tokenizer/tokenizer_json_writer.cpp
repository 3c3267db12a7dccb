// The reverse of tokenizer_json.cpp: a TokenizerFile back into tokenizer.json text.
#include <string>
#include <string_view>
#include <unordered_map>

#include "slim/error.hpp"
#include "tokenizer/tokenizer_json.hpp"

namespace slim::tok {
namespace {

using json = nlohmann::json;

std::string quoted(std::string_view s) { return json(std::string(s)).dump(); }

// {"token": id, ...} in id order. A string given to two ids keeps the later one, as Vocab::add
// re-points it: a JSON object has one value a key.
std::string vocab_text(const Vocab& vocab) {
  std::unordered_map<std::string_view, int32_t> last;
  last.reserve(static_cast<size_t>(vocab.size()));
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (vocab.has_id(id)) last[vocab.token(id)] = id;
  }
  std::string out = "{";
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (!vocab.has_id(id) || last[vocab.token(id)] != id) continue;
    if (out.size() > 1) out += ',';
    out += quoted(vocab.token(id)) + ':' + std::to_string(id);
  }
  return out + '}';
}

// [["left", "right"], ...]: pairs rather than "left right" strings, so a token with a space stays
// one side of its pair.
std::string merges_text(const RawMerges& merges) {
  const std::string_view arena(merges.arena);
  std::string out = "[";
  for (const RawMerges::Entry& e : merges.entries) {
    if (out.size() > 1) out += ',';
    out += '[' + quoted(arena.substr(e.offset, e.left_length)) + ',' +
           quoted(arena.substr(e.offset + e.left_length, e.right_length)) + ']';
  }
  return out + ']';
}

// `object` (the text of a JSON object) with `member` ("key":value) added at its end.
std::string with_member(std::string object, const std::string& member) {
  object.pop_back();
  if (object.size() > 1) object += ',';
  return object + member + '}';
}

}  // namespace

std::string tokenizer_json_text(const TokenizerFile& file) {
  try {
    json doc = file.doc;
    json model = doc.contains("model") ? doc["model"] : json::object();
    doc.erase("model");
    // The two big members written straight from the compact arrays: a DOM of them is slow.
    std::string model_text = model.dump();
    if (file.has_vocab) model_text = with_member(std::move(model_text), "\"vocab\":" + vocab_text(file.model_vocab));
    if (file.has_merges) model_text = with_member(std::move(model_text), "\"merges\":" + merges_text(file.merges));
    return with_member(doc.dump(), "\"model\":" + model_text);
  } catch (const json::exception& e) {
    throw Error(ErrorCode::unsupported, std::string("tokenizer.json cannot hold the vocabulary: ") + e.what());
  }
}

}  // namespace slim::tok
