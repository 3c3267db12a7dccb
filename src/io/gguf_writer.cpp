#include "io/gguf_writer.hpp"

#include <cstring>

#include "io/output_file.hpp"
#include "slim/error.hpp"

namespace slim::io {
namespace {

// GGUF is little-endian, as every machine slim builds for is.
template <class T>
std::string le(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));
  return s;
}
std::string str(std::string_view s) { return le<uint64_t>(s.size()) + std::string(s); }

template <class T>
std::string array(GgufType element, std::span<const T> values) {
  std::string s = le(static_cast<uint32_t>(element)) + le<uint64_t>(values.size());
  for (const T& v : values) s += le(v);
  return s;
}

uint64_t padding(uint64_t offset) { return (GgufWriter::kAlignment - offset % GgufWriter::kAlignment) % GgufWriter::kAlignment; }

}  // namespace

void GgufWriter::add(std::string_view key, GgufType type, const std::string& value) {
  if (!keys_.emplace(key).second) throw Error(ErrorCode::invalid_argument, "GGUF metadata key '" + std::string(key) + "' added twice");
  metadata_ += str(key) + le(static_cast<uint32_t>(type)) + value;
  ++count_;
}

void GgufWriter::add_string(std::string_view key, std::string_view value) { add(key, GgufType::string, str(value)); }
void GgufWriter::add_u32(std::string_view key, uint32_t value) { add(key, GgufType::u32, le(value)); }
void GgufWriter::add_i32(std::string_view key, int32_t value) { add(key, GgufType::i32, le(value)); }
void GgufWriter::add_f32(std::string_view key, float value) { add(key, GgufType::f32, le(value)); }
void GgufWriter::add_bool(std::string_view key, bool value) { add(key, GgufType::boolean, le<uint8_t>(value ? 1 : 0)); }

void GgufWriter::add_strings(std::string_view key, std::span<const std::string> values) {
  std::string s = le(static_cast<uint32_t>(GgufType::string)) + le<uint64_t>(values.size());
  for (const std::string& v : values) s += str(v);
  add(key, GgufType::array, s);
}
void GgufWriter::add_f32s(std::string_view key, std::span<const float> values) {
  add(key, GgufType::array, array(GgufType::f32, values));
}
void GgufWriter::add_i32s(std::string_view key, std::span<const int32_t> values) {
  add(key, GgufType::array, array(GgufType::i32, values));
}

void GgufWriter::copy(const GgufFile& from, std::string_view key) {
  const GgufValue* v = from.find(key);
  if (v == nullptr) throw Error(ErrorCode::invalid_argument, from.path().string() + ": has no metadata key '" + std::string(key) + "'");
  // One scalar of `type` from the file's typed getters, re-encoded in the same type.
  auto scalar = [](GgufType type, double number, int64_t integer) -> std::string {
    switch (type) {
      case GgufType::u8: return le(static_cast<uint8_t>(integer));
      case GgufType::i8: return le(static_cast<int8_t>(integer));
      case GgufType::u16: return le(static_cast<uint16_t>(integer));
      case GgufType::i16: return le(static_cast<int16_t>(integer));
      case GgufType::u32: return le(static_cast<uint32_t>(integer));
      case GgufType::i32: return le(static_cast<int32_t>(integer));
      case GgufType::u64: return le(static_cast<uint64_t>(integer));
      case GgufType::i64: return le(integer);
      case GgufType::boolean: return le<uint8_t>(integer != 0 ? 1 : 0);
      case GgufType::f32: return le(static_cast<float>(number));
      case GgufType::f64: return le(number);
      case GgufType::string: case GgufType::array: break;
    }
    return {};
  };
  const bool floating = v->type == GgufType::f32 || v->type == GgufType::f64;
  const bool floating_elements = v->element_type == GgufType::f32 || v->element_type == GgufType::f64;
  if (v->type == GgufType::string) {
    add_string(key, *from.string(key));
  } else if (v->type != GgufType::array) {
    add(key, v->type, scalar(v->type, floating ? *from.number(key) : 0.0, floating ? 0 : *from.integer(key)));
  } else if (v->element_type == GgufType::string) {
    const auto values = *from.string_array(key);
    add_strings(key, std::vector<std::string>(values.begin(), values.end()));
  } else {
    std::string s = le(static_cast<uint32_t>(v->element_type)) + le<uint64_t>(v->count);
    if (floating_elements) {
      const std::vector<double> values = *from.number_array(key);
      for (double x : values) s += scalar(v->element_type, x, 0);
    } else {
      const std::vector<int64_t> values = *from.integer_array(key);
      for (int64_t x : values) s += scalar(v->element_type, 0.0, x);
    }
    add(key, GgufType::array, s);
  }
}

void GgufWriter::append(const GgufWriter& other) {
  for (const std::string& key : other.keys_) {
    if (!keys_.insert(key).second) throw Error(ErrorCode::invalid_argument, "GGUF metadata key '" + key + "' added twice");
  }
  metadata_ += other.metadata_;
  count_ += other.count_;
}

void GgufWriter::add_tensor(const std::string& name, const Tensor& t, kernels::Layout layout) {
  if (!dtype_to_ggml(t.dtype())) {
    throw Error(ErrorCode::unsupported, "tensor '" + name + "' is " + std::string(dtype_name(t.dtype())) + ", which GGUF has no type for");
  }
  tensors_.push_back({name, t, layout});
}

void GgufWriter::write(const std::filesystem::path& path, const std::function<void(float)>& progress) const {
  std::string header = "GGUF" + le<uint32_t>(3) + le<uint64_t>(tensors_.size());
  header += le<uint64_t>(count_ + (has("general.alignment") ? 0 : 1)) + metadata_;
  if (!has("general.alignment")) header += str("general.alignment") + le(static_cast<uint32_t>(GgufType::u32)) + le(kAlignment);
  uint64_t offset = 0;
  for (const NamedTensor& t : tensors_) {
    header += str(t.name) + le(static_cast<uint32_t>(t.tensor.ndim()));
    for (int d = t.tensor.ndim(); d-- > 0;) header += le(static_cast<uint64_t>(t.tensor.dim(d)));  // fastest first
    header += le(*dtype_to_ggml(t.tensor.dtype())) + le(offset);
    offset += t.tensor.nbytes() + padding(t.tensor.nbytes());
  }
  header.append(padding(header.size()), '\0');

  OutputFile out(path);
  out.write(header);
  uint64_t written = 0;
  const std::string zeros(kAlignment, '\0');
  for (const NamedTensor& t : tensors_) {
    out.write_tensor(t.tensor, t.layout, [&](uint64_t n) {
      written += n;
      if (progress && offset > 0) progress(static_cast<float>(static_cast<double>(written) / static_cast<double>(offset)));
    });
    out.write(zeros.data(), padding(t.tensor.nbytes()));
  }
  out.commit();
  if (progress) progress(1.0f);
}

}  // namespace slim::io
