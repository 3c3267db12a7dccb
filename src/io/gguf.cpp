#include "io/gguf.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "limits_check.hpp"
#include "slim/error.hpp"

namespace slim::io {
namespace {

[[noreturn]] void bad(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCode::invalid_format, path.string() + ": " + what);
}

// ggml's type table (ggml/src/ggml.c, type_traits: blck_size and type_size). Ids 4, 5 and 31-33
// are types ggml has removed.
constexpr std::array<GgmlTypeInfo, 31> kGgmlTypes = {{
    {0, "F32", 1, 4},         {1, "F16", 1, 2},        {2, "Q4_0", 32, 18},     {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},     {8, "Q8_0", 32, 34},     {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},    {11, "Q3_K", 256, 110},  {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},  {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},  {20, "IQ4_NL", 32, 18},  {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},   {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},       {25, "I16", 1, 2},
    {26, "I32", 1, 4},        {27, "I64", 1, 8},       {28, "F64", 1, 8},       {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},  {35, "TQ2_0", 256, 66},
}};

// Bytes of one scalar of a metadata type; 0 for string and array.
uint64_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::u8: case GgufType::i8: case GgufType::boolean: return 1;
    case GgufType::u16: case GgufType::i16: return 2;
    case GgufType::u32: case GgufType::i32: case GgufType::f32: return 4;
    case GgufType::u64: case GgufType::i64: case GgufType::f64: return 8;
    case GgufType::string: case GgufType::array: return 0;
  }
  return 0;
}

bool known_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::f64); }

// A cursor over the file that checks every read against its end.
class Reader {
 public:
  Reader(std::span<const std::byte> bytes, const std::filesystem::path& path) : bytes_(bytes), path_(path) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return bytes_.size() - pos_; }
  void need(uint64_t n, const std::string& what) const {
    if (n > left()) {
      bad(path_, what + " runs past the end of the file (needs " + std::to_string(n) + " bytes at offset " +
                     std::to_string(pos_) + ", " + std::to_string(left()) + " left)");
    }
  }
  void skip(uint64_t n, const std::string& what) {
    need(n, what);
    pos_ += n;
  }
  uint32_t u32(const std::string& what) { return static_cast<uint32_t>(little(4, what)); }
  uint64_t u64(const std::string& what) { return little(8, what); }
  std::string_view string(const std::string& what) {
    const uint64_t n = u64(what + " length");
    need(n, what);
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(n));
    pos_ += n;
    return s;
  }

 private:
  uint64_t little(int n, const std::string& what) {
    need(static_cast<uint64_t>(n), what);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint64_t>(bytes_[pos_ + static_cast<size_t>(i)]);
    pos_ += static_cast<uint64_t>(n);
    return v;
  }

  std::span<const std::byte> bytes_;
  const std::filesystem::path& path_;
  uint64_t pos_ = 0;
};

uint64_t read_le(const std::byte* p, uint64_t n) {
  uint64_t v = 0;
  for (uint64_t i = n; i-- > 0;) v = (v << 8) | static_cast<uint64_t>(p[i]);
  return v;
}

// The value of one scalar at p as a double / an int64 (nullopt: a u64 beyond int64 or a float).
double scalar_number(GgufType t, const std::byte* p) {
  const uint64_t raw = read_le(p, scalar_size(t));
  switch (t) {
    case GgufType::u8: case GgufType::u16: case GgufType::u32: case GgufType::u64: case GgufType::boolean:
      return static_cast<double>(raw);
    case GgufType::i8: return static_cast<int8_t>(raw);
    case GgufType::i16: return static_cast<int16_t>(raw);
    case GgufType::i32: return static_cast<int32_t>(raw);
    case GgufType::i64: return static_cast<double>(static_cast<int64_t>(raw));
    case GgufType::f32: {
      float f;
      const auto u = static_cast<uint32_t>(raw);
      std::memcpy(&f, &u, 4);
      return f;
    }
    case GgufType::f64: {
      double d;
      std::memcpy(&d, &raw, 8);
      return d;
    }
    case GgufType::string: case GgufType::array: break;
  }
  return 0;
}

std::optional<int64_t> scalar_integer(GgufType t, const std::byte* p) {
  const uint64_t raw = read_le(p, scalar_size(t));
  switch (t) {
    case GgufType::u8: case GgufType::u16: case GgufType::u32: case GgufType::boolean:
      return static_cast<int64_t>(raw);
    case GgufType::u64:
      if (raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(raw);
    case GgufType::i8: return static_cast<int8_t>(raw);
    case GgufType::i16: return static_cast<int16_t>(raw);
    case GgufType::i32: return static_cast<int32_t>(raw);
    case GgufType::i64: return static_cast<int64_t>(raw);
    default: return std::nullopt;
  }
}

bool is_numeric(GgufType t) { return scalar_size(t) != 0; }

}  // namespace

std::string_view gguf_type_name(GgufType type) noexcept {
  static constexpr std::array<std::string_view, 13> names = {"u8",  "i8",  "u16",   "i16",    "u32", "i32", "f32",
                                                             "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(type);
  return i < names.size() ? names[i] : "unknown";
}

const GgmlTypeInfo* ggml_type_info(uint32_t id) noexcept {
  for (const GgmlTypeInfo& t : kGgmlTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

namespace {
// slim's dtypes and the ggml type ids that hold the same bytes; both directions read it.
struct DTypeGgml {
  DType dtype;
  uint32_t ggml;
};
constexpr DTypeGgml kDTypeGgml[] = {
    {DType::f32, ggml_f32},   {DType::f16, ggml_f16},   {DType::bf16, ggml_bf16}, {DType::q8_0, ggml_q8_0},
    {DType::q4_0, ggml_q4_0}, {DType::q4_1, ggml_q4_1}, {DType::q5_0, ggml_q5_0}, {DType::q5_1, ggml_q5_1},
    {DType::q4_k, ggml_q4_k}, {DType::q5_k, ggml_q5_k}, {DType::q6_k, ggml_q6_k},
};
}  // namespace

std::optional<DType> ggml_to_dtype(uint32_t type) noexcept {
  for (const DTypeGgml& e : kDTypeGgml) {
    if (e.ggml == type) return e.dtype;
  }
  return std::nullopt;
}

std::optional<uint32_t> dtype_to_ggml(DType dtype) noexcept {
  for (const DTypeGgml& e : kDTypeGgml) {
    if (e.dtype == dtype) return e.ggml;
  }
  return std::nullopt;
}

GgufFile GgufFile::open(const std::filesystem::path& path, bool use_mmap, const Limits& limits) {
  return parse(MappedFile::open(path, use_mmap), limits);
}

GgufFile GgufFile::parse(std::shared_ptr<const MappedFile> file, const Limits& limits) {
  GgufFile g;
  g.file_ = std::move(file);
  const auto& path = g.file_->path();
  const auto bytes = g.file_->bytes();
  Reader r(bytes, path);
  r.need(4, "the GGUF magic");
  if (std::memcmp(bytes.data(), "GGUF", 4) != 0) bad(path, "not a GGUF file (no \"GGUF\" magic)");
  r.skip(4, "the GGUF magic");
  g.version_ = r.u32("the version");
  if (g.version_ != 2 && g.version_ != 3) {
    // A big-endian file reads as a byte-swapped version: 0x02000000 or 0x03000000.
    if (g.version_ == 0x02000000u || g.version_ == 0x03000000u) bad(path, "is a big-endian GGUF file; slim reads little-endian ones");
    bad(path, "GGUF version " + std::to_string(g.version_) + " is not supported (slim reads versions 2 and 3)");
  }
  const uint64_t tensor_count = r.u64("the tensor count");
  const uint64_t kv_count = r.u64("the metadata count");
  check_limit(path.string() + ": tensor count", tensor_count, "max_tensor_count", limits.max_tensor_count);
  // Each key/value pair takes at least 12 bytes and each tensor info 24: counts beyond what the file
  // could hold are refused before anything is reserved.
  if (kv_count > r.left() / 12) bad(path, "metadata count " + std::to_string(kv_count) + " is more than the file can hold");
  if (tensor_count > r.left() / 24) bad(path, "tensor count " + std::to_string(tensor_count) + " is more than the file can hold");

  const uint64_t max_array = std::max(limits.max_vocab_size, limits.max_merges);
  for (uint64_t i = 0; i < kv_count; ++i) {
    const std::string key(r.string("metadata key " + std::to_string(i)));
    const std::string where = "metadata key '" + key + "'";
    GgufValue v;
    const uint32_t type = r.u32(where + ": type");
    if (!known_type(type)) bad(path, where + " has unknown value type " + std::to_string(type));
    v.type = static_cast<GgufType>(type);
    if (v.type == GgufType::array) {
      const uint32_t element = r.u32(where + ": array element type");
      if (!known_type(element)) bad(path, where + " has unknown array element type " + std::to_string(element));
      v.element_type = static_cast<GgufType>(element);
      if (v.element_type == GgufType::array) bad(path, where + " is an array of arrays, which slim does not read");
      v.count = r.u64(where + ": array length");
      check_limit(path.string() + ": " + where + ": array length", v.count, "max_vocab_size / max_merges", max_array);
      v.offset = r.pos();
      if (v.element_type == GgufType::string) {
        if (v.count > r.left() / 8) bad(path, where + " has " + std::to_string(v.count) + " strings, more than the file holds");
        for (uint64_t e = 0; e < v.count; ++e) r.string(where + " element " + std::to_string(e));
      } else {
        const uint64_t size = scalar_size(v.element_type);
        if (v.count > r.left() / size) bad(path, where + " has " + std::to_string(v.count) + " elements, more than the file holds");
        r.skip(v.count * size, where);
      }
    } else if (v.type == GgufType::string) {
      v.offset = r.pos();
      r.string(where);
    } else {
      v.offset = r.pos();
      r.skip(scalar_size(v.type), where);
    }
    if (!g.metadata_.emplace(key, v).second) bad(path, where + " appears twice");
  }

  if (const GgufValue* a = g.find("general.alignment")) {
    if (a->type != GgufType::u32) bad(path, "metadata key 'general.alignment' is " + std::string(gguf_type_name(a->type)) + ", not u32");
    g.alignment_ = read_le(bytes.data() + a->offset, 4);
    if (g.alignment_ == 0 || (g.alignment_ & (g.alignment_ - 1)) != 0) {
      bad(path, "metadata key 'general.alignment' is " + std::to_string(g.alignment_) + ", not a power of two");
    }
  }

  g.tensors_.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo t;
    t.name = std::string(r.string("tensor " + std::to_string(i) + " name"));
    const std::string where = "tensor '" + t.name + "'";
    const uint32_t n_dims = r.u32(where + ": dimension count");
    if (n_dims == 0 || n_dims > 4) bad(path, where + " has " + std::to_string(n_dims) + " dimensions (GGUF allows 1 to 4)");
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t n = r.u64(where + ": dimension");
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || (n != 0 && elements > (uint64_t{1} << 60) / n)) {
        bad(path, where + " is impossibly large");
      }
      elements *= n;
      t.dims.push_back(static_cast<int64_t>(n));
    }
    check_limit(path.string() + ": " + where + ": element count", elements, "max_tensor_elements", limits.max_tensor_elements);
    t.type = r.u32(where + ": type");
    const GgmlTypeInfo* info = ggml_type_info(t.type);
    if (info == nullptr) bad(path, where + " has unknown ggml type " + std::to_string(t.type));
    if (static_cast<uint64_t>(t.dims[0]) % info->block_values != 0) {
      bad(path, where + " has rows of " + std::to_string(t.dims[0]) + " values, not a multiple of " + std::string(info->name) +
                    "'s block of " + std::to_string(info->block_values));
    }
    // elements <= 2^60 and at most 8 bytes a value: no overflow.
    t.bytes = elements / info->block_values * info->block_bytes;
    t.offset = r.u64(where + ": offset");
    if (t.offset % g.alignment_ != 0) {
      bad(path, where + " has offset " + std::to_string(t.offset) + ", not a multiple of the alignment " + std::to_string(g.alignment_));
    }
    if (!g.tensor_index_.emplace(t.name, g.tensors_.size()).second) bad(path, where + " appears twice");
    g.tensors_.push_back(std::move(t));
  }

  // The data area starts at the next multiple of the alignment.
  const uint64_t pad = (g.alignment_ - r.pos() % g.alignment_) % g.alignment_;
  const uint64_t start = pad <= r.left() ? r.pos() + pad : bytes.size();
  g.data_area_ = bytes.subspan(static_cast<size_t>(start));
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : g.tensors_) {
    if (t.offset > g.data_area_.size() || t.bytes > g.data_area_.size() - t.offset) {
      bad(path, "tensor '" + t.name + "' (" + std::to_string(t.bytes) + " bytes at offset " + std::to_string(t.offset) +
                    ") runs past the end of the data area of " + std::to_string(g.data_area_.size()) + " bytes");
    }
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->offset < by_offset[i - 1]->offset + by_offset[i - 1]->bytes) {
      bad(path, "tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");
    }
  }
  return g;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

namespace {
[[noreturn]] void wrong_type(const std::filesystem::path& path, std::string_view key, const GgufValue& v, const char* want) {
  std::string is(gguf_type_name(v.type));
  if (v.type == GgufType::array) is += " of " + std::string(gguf_type_name(v.element_type));
  bad(path, "metadata key '" + std::string(key) + "' is " + is + ", not " + want);
}
}  // namespace

std::optional<std::string_view> GgufFile::string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != GgufType::string) wrong_type(path(), key, *v, "a string");
  const std::byte* p = file_->bytes().data() + v->offset;
  return std::string_view(reinterpret_cast<const char*>(p + 8), static_cast<size_t>(read_le(p, 8)));
}

std::optional<int64_t> GgufFile::integer(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!is_numeric(v->type)) wrong_type(path(), key, *v, "an integer");
  auto i = scalar_integer(v->type, file_->bytes().data() + v->offset);
  if (!i) wrong_type(path(), key, *v, "an integer that fits in 64 bits");
  return i;
}

std::optional<double> GgufFile::number(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!is_numeric(v->type) || v->type == GgufType::boolean) wrong_type(path(), key, *v, "a number");
  return scalar_number(v->type, file_->bytes().data() + v->offset);
}

std::optional<bool> GgufFile::boolean(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != GgufType::boolean) wrong_type(path(), key, *v, "a bool");
  return file_->bytes()[v->offset] != std::byte{0};
}

std::optional<std::vector<std::string_view>> GgufFile::string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != GgufType::array || v->element_type != GgufType::string) wrong_type(path(), key, *v, "an array of strings");
  std::vector<std::string_view> out;
  out.reserve(static_cast<size_t>(v->count));
  const std::byte* p = file_->bytes().data() + v->offset;
  for (uint64_t i = 0; i < v->count; ++i) {  // bounds were checked by parse()
    const auto n = static_cast<size_t>(read_le(p, 8));
    out.emplace_back(reinterpret_cast<const char*>(p + 8), n);
    p += 8 + n;
  }
  return out;
}

std::optional<std::vector<double>> GgufFile::number_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != GgufType::array || !is_numeric(v->element_type)) wrong_type(path(), key, *v, "an array of numbers");
  std::vector<double> out(static_cast<size_t>(v->count));
  const uint64_t size = scalar_size(v->element_type);
  const std::byte* p = file_->bytes().data() + v->offset;
  for (size_t i = 0; i < out.size(); ++i) out[i] = scalar_number(v->element_type, p + i * size);
  return out;
}

std::optional<std::vector<int64_t>> GgufFile::integer_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  const bool integral = is_numeric(v->element_type) && v->element_type != GgufType::f32 && v->element_type != GgufType::f64;
  if (v->type != GgufType::array || !integral) wrong_type(path(), key, *v, "an array of integers");
  std::vector<int64_t> out(static_cast<size_t>(v->count));
  const uint64_t size = scalar_size(v->element_type);
  const std::byte* p = file_->bytes().data() + v->offset;
  for (size_t i = 0; i < out.size(); ++i) {
    auto x = scalar_integer(v->element_type, p + i * size);
    if (!x) bad(path(), "metadata key '" + std::string(key) + "' element " + std::to_string(i) + " does not fit in 64 bits");
    out[i] = *x;
  }
  return out;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> GgufFile::data(const GgufTensorInfo& t) const {
  return data_area_.subspan(static_cast<size_t>(t.offset), static_cast<size_t>(t.bytes));
}

Tensor GgufFile::tensor(const GgufTensorInfo& t) const { return make_tensor(t, t.shape(), data(t)); }

Tensor GgufFile::slice(const GgufTensorInfo& t, int64_t index) const {
  std::vector<int64_t> shape = t.shape();
  if (shape.size() < 2 || index < 0 || index >= shape[0]) {
    throw Error(ErrorCode::invalid_argument, path().string() + ": tensor '" + t.name + "' has no slice " + std::to_string(index));
  }
  const int64_t count = shape[0];
  shape.erase(shape.begin());
  // The parse checked that the bytes are whole rows, so they divide into count equal slices.
  const auto bytes = data(t);
  const size_t slice_bytes = bytes.size() / static_cast<size_t>(count);
  return make_tensor(t, shape, bytes.subspan(static_cast<size_t>(index) * slice_bytes, slice_bytes));
}

Tensor GgufFile::make_tensor(const GgufTensorInfo& t, std::span<const int64_t> shape, std::span<const std::byte> bytes) const {
  const auto dtype = ggml_to_dtype(t.type);
  if (!dtype) {
    throw Error(ErrorCode::unsupported, path().string() + ": tensor '" + t.name + "' has type " +
                                            std::string(ggml_type_info(t.type)->name) +
                                            "; slim reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K GGUF tensors");
  }
  // Blocks hold fp16 scales at even offsets (2 bytes); plain types need their element's alignment.
  const size_t align = dtype_is_quantized(*dtype) ? 2 : dtype_size(*dtype);
  if (reinterpret_cast<uintptr_t>(bytes.data()) % align == 0) return Tensor::view(*dtype, shape, bytes.data());
  Tensor copy = Tensor::zeros(*dtype, shape);
  if (!bytes.empty()) std::memcpy(copy.mutable_data(), bytes.data(), bytes.size());
  return copy;
}

bool is_gguf_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

std::optional<std::filesystem::path> find_gguf(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    if (std::filesystem::is_regular_file(path, ec)) return path;
    return std::nullopt;
  }
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == ".gguf") found.push_back(entry.path());
  }
  if (found.size() > 1) {
    std::sort(found.begin(), found.end());
    std::string names;
    for (const auto& f : found) names += (names.empty() ? "" : ", ") + f.filename().string();
    throw Error(ErrorCode::invalid_argument, path.string() + ": holds several GGUF files (" + names + "); name one of them");
  }
  if (found.empty()) return std::nullopt;
  return found.front();
}

}  // namespace slim::io
