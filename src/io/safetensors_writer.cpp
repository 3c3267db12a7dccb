#include "io/safetensors_writer.hpp"

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/output_file.hpp"
#include "io/quantized_format.hpp"
#include "slim/error.hpp"

namespace slim::io {
namespace {

// Block-quantized tensors are stored as bytes (U8), with their dtype in the metadata.
const char* safetensors_dtype(DType t) {
  if (dtype_is_quantized(t)) return "U8";
  switch (t) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    default: return "?";
  }
}

}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                       std::map<std::string, std::string> metadata, const std::function<void(float)>& progress) {
  // f32 tensors first: every size is then a multiple of 4 before the 2-byte-aligned rest.
  std::vector<const NamedTensor*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const NamedTensor* a, const NamedTensor* b) {
    return (a->tensor.dtype() == DType::f32) > (b->tensor.dtype() == DType::f32);
  });

  bool any_blocks = false;
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = nlohmann::ordered_json::object();
  uint64_t offset = 0;
  for (const NamedTensor* t : order) {
    const Tensor& x = t->tensor;
    std::vector<int64_t> shape(x.shape().begin(), x.shape().end());
    const uint64_t bytes = x.nbytes();
    if (dtype_is_quantized(x.dtype())) {
      any_blocks = true;
      add_block_layout(metadata, t->name, x.dtype(), shape);
      const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(x.dtype(), shape.back()));
      shape.back() = row_bytes;
    }
    header[t->name] = {{"dtype", safetensors_dtype(x.dtype())}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (any_blocks) add_format_keys(metadata);
  for (const auto& [k, v] : metadata) header["__metadata__"][k] = v;

  std::string text = header.dump();
  // Pad with spaces (valid JSON whitespace) so the data area starts at a multiple of 64.
  text.append((64 - (8 + text.size()) % 64) % 64, ' ');
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(static_cast<uint64_t>(text.size()) >> (8 * i));

  OutputFile out(path);
  out.write(len, 8);
  out.write(text);
  uint64_t written = 0;
  for (const NamedTensor* t : order) {
    out.write_tensor(t->tensor, t->layout, [&](uint64_t n) {
      written += n;
      if (progress && offset > 0) progress(static_cast<float>(static_cast<double>(written) / static_cast<double>(offset)));
    });
  }
  out.commit();
  if (progress) progress(1.0f);
}

}  // namespace slim::io
