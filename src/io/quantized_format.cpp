#include "io/quantized_format.hpp"

#include <algorithm>
#include <charconv>

#include "io/safetensors.hpp"
#include "slim/error.hpp"
#include "slim/tensor.hpp"

namespace slim::io {
namespace {

// A dimension may not exceed 2^40 (and the element count 2^62), which keeps every byte count
// below in range.
constexpr uint64_t kMaxDim = uint64_t{1} << 40;

[[noreturn]] void bad(ErrorCode code, const std::string& source, const std::string& what) {
  throw Error(code, source + ": " + what);
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::optional<DType> block_dtype(const std::string& s) {
  for (DType d : all_dtypes()) {
    if (dtype_is_quantized(d) && s == dtype_name(d)) return d;
  }
  return std::nullopt;
}

// "576,1536" -> {576, 1536}: 1 to 4 decimal dimensions, nothing else.
std::optional<std::vector<int64_t>> parse_shape(const std::string& s) {
  std::vector<int64_t> shape;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  uint64_t numel = 1;
  while (true) {
    if (p == end || *p < '0' || *p > '9') return std::nullopt;  // also rejects signs and spaces
    uint64_t d = 0;
    auto [next, ec] = std::from_chars(p, end, d);
    if (ec != std::errc() || d > kMaxDim) return std::nullopt;
    if (d != 0 && numel > (uint64_t{1} << 62) / d) return std::nullopt;
    numel *= d;
    shape.push_back(static_cast<int64_t>(d));
    if (shape.size() > static_cast<size_t>(Tensor::kMaxDims)) return std::nullopt;
    p = next;
    if (p == end) return shape;
    if (*p != ',') return std::nullopt;
    ++p;
  }
}

}  // namespace

std::map<std::string, BlockLayout> parse_block_layouts(const std::string& source,
                                                       const std::map<std::string, std::string>& metadata,
                                                       const std::vector<TensorEntry>& entries) {
  std::map<std::string, BlockLayout> layouts;
  auto format = metadata.find(kFormatKey);
  if (format == metadata.end()) return layouts;
  if (format->second != kFormatValue) {
    bad(ErrorCode::unsupported, source, std::string("__metadata__ ") + kFormatKey + " '" + format->second +
                                            "' is not '" + kFormatValue + "'");
  }
  auto version = metadata.find(kVersionKey);
  if (version == metadata.end() || version->second != std::to_string(1)) {
    bad(ErrorCode::unsupported, source, std::string("__metadata__ ") + kVersionKey + " is not 1" +
                                            " (a file from a newer slim?)");
  }
  auto block = metadata.find(kBlockSizeKey);
  if (block == metadata.end() || block->second != "32") {
    bad(ErrorCode::unsupported, source, std::string("__metadata__ ") + kBlockSizeKey + " is not 32");
  }

  for (const auto& [key, value] : metadata) {
    const bool is_dtype = starts_with(key, kDTypeKeyPrefix);
    const bool is_shape = starts_with(key, kShapeKeyPrefix);
    if (!is_dtype && !is_shape) continue;  // other keys are informational
    const std::string name = key.substr(std::string(is_dtype ? kDTypeKeyPrefix : kShapeKeyPrefix).size());
    const std::string where = "tensor '" + name + "'";
    const std::string other_key = (is_dtype ? kShapeKeyPrefix : kDTypeKeyPrefix) + name;
    if (metadata.count(other_key) == 0) bad(ErrorCode::invalid_format, source, where + " has no " + other_key);
    if (!is_dtype) continue;  // each tensor once, from its dtype key

    auto it = std::lower_bound(entries.begin(), entries.end(), name,
                               [](const TensorEntry& e, const std::string& n) { return e.name < n; });
    if (it == entries.end() || it->name != name) {
      bad(ErrorCode::invalid_format, source, "__metadata__ describes " + where + ", which the file does not hold");
    }
    BlockLayout layout;
    auto dtype = block_dtype(value);
    if (!dtype) bad(ErrorCode::unsupported, source, where + " has unknown block format '" + value + "'");
    layout.dtype = *dtype;
    if (it->dtype != "U8") bad(ErrorCode::invalid_format, source, where + " holds blocks but is stored as " + it->dtype + ", not U8");
    auto shape = parse_shape(metadata.at(kShapeKeyPrefix + name));
    if (!shape) {
      bad(ErrorCode::invalid_format, source, where + " has a malformed logical shape '" +
                                                 metadata.at(kShapeKeyPrefix + name) + "'");
    }
    layout.shape = std::move(*shape);
    const int64_t cols = layout.shape.back();
    if (cols == 0 || cols % dtype_block_elems(layout.dtype) != 0) {
      bad(ErrorCode::invalid_format, source, where + " has a last dimension of " + std::to_string(cols) +
                                                 ", not a positive multiple of " + std::to_string(dtype_block_elems(layout.dtype)));
    }
    uint64_t rows = 1;
    for (size_t i = 0; i + 1 < layout.shape.size(); ++i) rows *= static_cast<uint64_t>(layout.shape[i]);
    const uint64_t want = rows * dtype_row_bytes(layout.dtype, cols);
    if (it->end - it->begin != want) {
      bad(ErrorCode::invalid_format, source, where + " holds " + std::to_string(it->end - it->begin) +
                                                 " bytes but " + value + " of its shape takes " + std::to_string(want));
    }
    layouts.emplace(name, std::move(layout));
  }
  return layouts;
}

void add_block_layout(std::map<std::string, std::string>& metadata, const std::string& name, DType dtype,
                      const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(shape[i]);
  }
  metadata[kDTypeKeyPrefix + name] = std::string(dtype_name(dtype));
  metadata[kShapeKeyPrefix + name] = s;
}

void add_format_keys(std::map<std::string, std::string>& metadata) {
  // Built with to_string: assigning a short literal trips a false GCC 12 -Wrestrict warning.
  metadata.insert_or_assign(kFormatKey, std::string(kFormatValue));
  metadata.insert_or_assign(kVersionKey, std::to_string(1));
  metadata.insert_or_assign(kBlockSizeKey, std::to_string(32));
}

}  // namespace slim::io
