// A read-only file mapped into memory (or, when mapping is not wanted, read into memory). Weights
// the kernels read as stored are used in place from the mapping, so loading costs no copy and
// resident memory tracks use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

namespace slim::io {

class MappedFile {
 public:
  // Throws slim::Error(io) when the file cannot be opened, sized or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path, bool use_mmap = true);
  // An in-memory copy of `bytes` that behaves like a file called `name` (tests, fuzzing).
  static std::shared_ptr<const MappedFile> copy_of(std::span<const std::byte> bytes, const std::filesystem::path& name);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;  // true: munmap on destruction; false: data_ is heap memory
};

}  // namespace slim::io
