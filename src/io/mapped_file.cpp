#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "slim/error.hpp"

namespace slim::io {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
  throw Error(ErrorCode::io, path.string() + ": cannot " + what + ": " + std::strerror(errno));
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// 64-byte aligned like Tensor memory, so tensors in it get the same alignment as in a mapping.
std::byte* allocate(size_t size) {
  auto* buf = static_cast<std::byte*>(std::aligned_alloc(64, (size + 63) / 64 * 64));
  if (buf == nullptr) throw std::bad_alloc();
  return buf;
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::copy_of(std::span<const std::byte> bytes,
                                                      const std::filesystem::path& name) {
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = name;
  file->size_ = bytes.size();
  if (bytes.empty()) return file;
  auto* buf = allocate(bytes.size());
  std::memcpy(buf, bytes.data(), bytes.size());
  file->data_ = buf;
  return file;
}

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path, bool use_mmap) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) fail(path, "open");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) fail(path, "stat");
  if (!S_ISREG(st.st_mode)) {
    throw Error(ErrorCode::io, path.string() + ": not a regular file");
  }

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ == 0) return file;  // nothing to map; bytes() is empty

  if (use_mmap) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, f.fd, 0);
    if (p == MAP_FAILED) fail(path, "map");
    file->data_ = static_cast<const std::byte*>(p);
    file->mapped_ = true;
    return file;
  }
  auto* buf = allocate(file->size_);
  file->data_ = buf;
  size_t done = 0;
  while (done < file->size_) {
    ssize_t got = ::read(f.fd, buf + done, file->size_ - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail(path, "read");
    done += static_cast<size_t>(got);
  }
  return file;
}

MappedFile::~MappedFile() {
  if (data_ == nullptr) return;
  if (mapped_) {
    ::munmap(const_cast<std::byte*>(data_), size_);
  } else {
    std::free(const_cast<std::byte*>(data_));
  }
}

}  // namespace slim::io
