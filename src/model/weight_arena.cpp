#include "model/weight_arena.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace slim {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kChunk = size_t{64} << 20;  // untouched parts cost address space only

struct Unmap {
  size_t bytes;
  void operator()(void* p) const noexcept { ::munmap(p, bytes); }
};

}  // namespace

std::shared_ptr<void> huge_page_memory(size_t bytes) {
  bytes = std::max<size_t>(1, (bytes + kHugePage - 1) / kHugePage) * kHugePage;
  void* raw = ::mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto* start = static_cast<unsigned char*>(raw);
  auto* aligned = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(start) + kHugePage - 1) / kHugePage * kHugePage);
  // Give back the unaligned head and the tail beyond the chunk.
  if (aligned > start) ::munmap(start, static_cast<size_t>(aligned - start));
  const size_t tail = static_cast<size_t>(start + bytes + kHugePage - (aligned + bytes));
  if (tail > 0) ::munmap(aligned + bytes, tail);
#if defined(MADV_HUGEPAGE)
  ::madvise(aligned, bytes, MADV_HUGEPAGE);  // a hint: without THP the pages stay 4 KiB
#endif
  return std::shared_ptr<void>(aligned, Unmap{bytes});
}

Tensor WeightArena::matrix(DType dtype, int64_t rows, int64_t cols) {
  const int64_t shape[] = {rows, cols};
  const size_t bytes = (Tensor::view(dtype, shape, nullptr).nbytes() + Tensor::kAlignment - 1) / Tensor::kAlignment *
                       Tensor::kAlignment;
  if (bytes == 0) return Tensor::zeros(dtype, shape);
  if (bytes > left_) {
    const size_t size = std::max(kChunk, (bytes + kHugePage - 1) / kHugePage * kHugePage);
    chunk_ = huge_page_memory(size);
    next_ = static_cast<unsigned char*>(chunk_.get());
    left_ = size;
  }
  Tensor t = Tensor::within(chunk_, dtype, shape, next_);
  next_ += bytes;
  left_ -= bytes;
  return t;
}

}  // namespace slim
