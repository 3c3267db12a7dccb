#include "io/output_file.hpp"

#include <algorithm>
#include <system_error>

#include "slim/error.hpp"

namespace slim::io {

OutputFile::OutputFile(const std::filesystem::path& path) : path_(path), tmp_(path.string() + ".tmp") {
  file_.reset(std::fopen(tmp_.c_str(), "wb"));
  if (!file_) fail("cannot create the file");
}

OutputFile::~OutputFile() {
  if (!file_) return;
  file_.reset();
  std::error_code ec;
  std::filesystem::remove(tmp_, ec);
}

void OutputFile::fail(const std::string& what) const { throw Error(ErrorCode::io, tmp_.string() + ": " + what); }

void OutputFile::write(const void* data, size_t bytes) {
  if (bytes != 0 && std::fwrite(data, 1, bytes, file_.get()) != bytes) fail("write failed (disk full?)");
  size_ += bytes;
}

void OutputFile::write_tensor(const Tensor& t, kernels::Layout layout, const std::function<void(uint64_t)>& wrote) {
  const auto* p = static_cast<const unsigned char*>(t.data());
  const size_t n = t.nbytes();
  const bool regrouped = layout != kernels::Layout::blocks && dtype_is_quantized(t.dtype());
  const int64_t cols = t.ndim() > 0 ? t.dim(t.ndim() - 1) : 0;
  const size_t row_bytes = std::max<size_t>(1, dtype_row_bytes(t.dtype(), cols));
  constexpr size_t kChunk = size_t{16} << 20;  // progress every 16 MiB
  for (size_t done = 0; done < n;) {
    // Whole rows at a time, so a regrouped tensor's rows can be converted on the way out.
    const size_t step = std::min(std::max(kChunk / row_bytes, size_t{1}) * row_bytes, n - done);
    const unsigned char* out = p + done;
    if (regrouped) {
      blocks_.resize(step);
      for (size_t r = 0; r < step / row_bytes; ++r) {
        kernels::relayout_row(t.dtype(), cols, out + r * row_bytes, layout, blocks_.data() + r * row_bytes,
                              kernels::Layout::blocks);
      }
      out = blocks_.data();
    }
    write(out, step);
    done += step;
    if (wrote) wrote(step);
  }
}

void OutputFile::commit() {
  if (std::fflush(file_.get()) != 0) fail("write failed (disk full?)");
  if (std::fclose(file_.release()) != 0) fail("close failed");
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) {
    std::filesystem::remove(tmp_, ec);
    throw Error(ErrorCode::io, path_.string() + ": cannot move " + tmp_.filename().string() + " into place: " + ec.message());
  }
}

}  // namespace slim::io
