// Fuzz target: the bytes of a GGUF file. Every metadata value is read through every typed getter
// and every tensor's bytes end to end, so a wrong bound shows up as a sanitizer report; a file that
// holds a vocabulary also has it read into a tokenizer.json document, and one with an architecture
// into a config.json that the config reader then parses.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "io/gguf.hpp"
#include "model/config.hpp"
#include "model/gguf_model.hpp"
#include "tokenizer/gguf_tokenizer.hpp"
#include "slim/error.hpp"

namespace {

template <class F>
void quietly(F&& f) {
  try {
    f();
  } catch (const slim::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = slim::io::MappedFile::copy_of({reinterpret_cast<const std::byte*>(data), size}, "fuzz.gguf");
    const auto g = slim::io::GgufFile::parse(file);
    volatile size_t sum = 0;
    for (const auto& entry : g.metadata()) {
      const std::string& key = entry.first;  // clang 14 cannot capture a structured binding
      quietly([&] { sum = sum + g.string(key)->size(); });
      quietly([&] { sum = sum + static_cast<size_t>(*g.integer(key)); });
      quietly([&] { sum = sum + static_cast<size_t>(*g.number(key) != 0); });
      quietly([&] { sum = sum + *g.boolean(key); });
      quietly([&] {
        const auto strings = g.string_array(key);
        for (std::string_view s : *strings) sum = sum + s.size();
      });
      quietly([&] { sum = sum + g.number_array(key)->size(); });
      quietly([&] { sum = sum + g.integer_array(key)->size(); });
    }
    if (g.find("tokenizer.ggml.model") != nullptr) {
      quietly([&] { sum = sum + slim::tok::tokenizer_from_gguf(g).file.merges.entries.size(); });
    }
    if (g.find("general.architecture") != nullptr) {
      quietly([&] { sum = sum + slim::parse_config(slim::gguf_config_json(g), "fuzz.gguf").num_layers; });
    }
    for (const auto& t : g.tensors()) {
      for (std::byte b : g.data(t)) sum = sum + static_cast<unsigned>(b);
      if (t.dims.size() == 3) {
        quietly([&] { sum = sum + g.slice(t, static_cast<int64_t>(sum % 4)).nbytes(); });
      }
      quietly([&] {
        slim::Tensor x = g.tensor(t);
        const auto* p = static_cast<const unsigned char*>(x.data());
        for (size_t i = 0; i < x.nbytes(); ++i) sum = sum + p[i];
      });
    }
  } catch (const slim::Error&) {
  }
  return 0;
}
