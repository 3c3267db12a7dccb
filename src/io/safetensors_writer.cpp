#include "io/safetensors_writer.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

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

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

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

  const std::filesystem::path tmp = path.string() + ".tmp";
  auto fail = [&](const std::string& what) { throw Error(ErrorCode::io, tmp.string() + ": " + what); };
  {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(tmp.c_str(), "wb"));
    if (!f) fail("cannot create the file");
    if (std::fwrite(len, 1, 8, f.get()) != 8 || std::fwrite(text.data(), 1, text.size(), f.get()) != text.size()) {
      fail("write failed");
    }
    uint64_t written = 0;
    constexpr size_t kChunk = size_t{16} << 20;  // progress every 16 MiB
    std::vector<unsigned char> blocks;  // rows of a regrouped tensor turned back into GGUF blocks
    for (const NamedTensor* t : order) {
      const Tensor& x = t->tensor;
      const auto* p = static_cast<const unsigned char*>(x.data());
      const size_t n = x.nbytes();
      const bool regrouped = t->layout != kernels::Layout::blocks && dtype_is_quantized(x.dtype());
      const int64_t cols = x.ndim() > 0 ? x.dim(x.ndim() - 1) : 0;
      const size_t row_bytes = std::max<size_t>(1, dtype_row_bytes(x.dtype(), cols));
      for (size_t done = 0; done < n;) {
        // Whole rows at a time, so a regrouped tensor's rows can be converted on the way out.
        const size_t step = std::min(std::max(kChunk / row_bytes, size_t{1}) * row_bytes, n - done);
        const unsigned char* out = p + done;
        if (regrouped) {
          blocks.resize(step);
          for (size_t r = 0; r < step / row_bytes; ++r) {
            kernels::relayout_row(x.dtype(), cols, out + r * row_bytes, t->layout, blocks.data() + r * row_bytes,
                                  kernels::Layout::blocks);
          }
          out = blocks.data();
        }
        if (std::fwrite(out, 1, step, f.get()) != step) fail("write failed (disk full?)");
        done += step;
        written += step;
        if (progress && offset > 0) progress(static_cast<float>(static_cast<double>(written) / static_cast<double>(offset)));
      }
    }
    if (std::fflush(f.get()) != 0) fail("write failed (disk full?)");
    if (std::fclose(f.release()) != 0) fail("close failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(ErrorCode::io, path.string() + ": cannot move " + tmp.filename().string() + " into place: " + ec.message());
  if (progress) progress(1.0f);
}

}  // namespace slim::io
