// Reader of the GGUF container (ggml's format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md),
// versions 2 and 3, little-endian: "GGUF", u32 version, u64 tensor count, u64 metadata count, the
// metadata key/value pairs, the tensor infos (name, dims, ggml type, offset), padding to
// general.alignment (default 32), then the tensor data. Every count, length, size and offset is
// checked against the file before anything is handed out, so a hostile file gives slim::Error
// naming the key or tensor at fault, never a bad read. Values stay in the mapping; the accessors
// read them from there.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_file.hpp"
#include "slim/dtype.hpp"
#include "slim/limits.hpp"
#include "slim/tensor.hpp"

namespace slim::io {

// GGUF's metadata value types (gguf_type).
enum class GgufType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
  u64 = 10, i64 = 11, f64 = 12,
};
std::string_view gguf_type_name(GgufType type) noexcept;

struct GgufValue {
  GgufType type = GgufType::u8;
  GgufType element_type = GgufType::u8;  // arrays: the type of every element (never array)
  uint64_t count = 0;                    // arrays: the element count
  uint64_t offset = 0;                   // file offset of the value (arrays: of the first element)
};

// ggml's tensor types that GGUF files carry (ggml_type ids), with their block geometry.
struct GgmlTypeInfo {
  uint32_t id;
  std::string_view name;
  uint32_t block_values;  // values per block (1 for plain types)
  uint32_t block_bytes;
};
// nullptr for an id ggml does not define (or no longer does).
const GgmlTypeInfo* ggml_type_info(uint32_t id) noexcept;

// ggml type ids slim maps onto its own dtypes.
enum GgmlTypeId : uint32_t {
  ggml_f32 = 0, ggml_f16 = 1, ggml_q4_0 = 2, ggml_q8_0 = 8, ggml_bf16 = 30,
  ggml_q4_1 = 3, ggml_q5_0 = 6, ggml_q5_1 = 7, ggml_q4_k = 12, ggml_q5_k = 13, ggml_q6_k = 14,
};

struct GgufTensorInfo {
  std::string name;
  uint32_t type = 0;          // ggml type id (ggml_type_info has its name and block size)
  std::vector<int64_t> dims;  // ggml order: dims[0] is the contiguous one (a row's length)
  uint64_t offset = 0;        // into the data area
  uint64_t bytes = 0;
  // The dims as a row-major slim shape: reversed, so shape.back() is the row length.
  std::vector<int64_t> shape() const { return {dims.rbegin(), dims.rend()}; }
};

class GgufFile {
 public:
  // Tensor count and elements are held to limits.max_tensor_count / max_tensor_elements, array
  // lengths to max_vocab_size (the largest arrays are the vocabulary's) and max_merges.
  static GgufFile open(const std::filesystem::path& path, bool use_mmap = true, const Limits& limits = {});
  static GgufFile parse(std::shared_ptr<const MappedFile> file, const Limits& limits = {});

  const std::filesystem::path& path() const noexcept { return file_->path(); }
  uint32_t version() const noexcept { return version_; }
  uint64_t alignment() const noexcept { return alignment_; }
  const std::shared_ptr<const MappedFile>& file() const noexcept { return file_; }

  // Metadata, looked up by key. The typed getters throw slim::Error(invalid_format) naming the key
  // when its value has another type, and return nullopt when the key is absent.
  const std::map<std::string, GgufValue, std::less<>>& metadata() const noexcept { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  std::optional<std::string_view> string(std::string_view key) const;
  // Any integer type whose value fits in int64 (bool too, as 0 / 1).
  std::optional<int64_t> integer(std::string_view key) const;
  std::optional<double> number(std::string_view key) const;  // f32, f64 or an integer
  std::optional<bool> boolean(std::string_view key) const;
  // Arrays: strings (views into the mapping), numbers (any numeric element type) and integers.
  std::optional<std::vector<std::string_view>> string_array(std::string_view key) const;
  std::optional<std::vector<double>> number_array(std::string_view key) const;
  std::optional<std::vector<int64_t>> integer_array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const noexcept { return tensors_; }  // in file order
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // The stored bytes of a tensor (inside the mapping).
  std::span<const std::byte> data(const GgufTensorInfo& tensor) const;
  // A slim::Tensor of its row-major shape for F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 (a view of the mapping
  // when aligned, else an aligned copy); slim::Error(unsupported) naming the tensor and its type
  // for every other type.
  Tensor tensor(const GgufTensorInfo& tensor) const;
  // Sub-tensor `index` along the outermost dimension (one expert of a stacked [experts, rows, cols]
  // tensor), the same way; slim::Error(invalid_argument) for an index out of range.
  Tensor slice(const GgufTensorInfo& tensor, int64_t index) const;

 private:
  Tensor make_tensor(const GgufTensorInfo& t, std::span<const int64_t> shape, std::span<const std::byte> bytes) const;

  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::span<const std::byte> data_area_;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

// The slim dtype of a ggml type id, or nullopt for the types slim does not compute with.
std::optional<DType> ggml_to_dtype(uint32_t type) noexcept;
// The reverse: the ggml type id of a slim dtype, nullopt for one GGUF has no type for.
std::optional<uint32_t> dtype_to_ggml(DType dtype) noexcept;

// Whether `path` starts with the GGUF magic.
bool is_gguf_file(const std::filesystem::path& path);

// A .gguf file as given, or the one .gguf file in a folder: nullopt when `path` is a folder with
// none; slim::Error(invalid_argument) when it holds several (naming them).
std::optional<std::filesystem::path> find_gguf(const std::filesystem::path& path);

}  // namespace slim::io
