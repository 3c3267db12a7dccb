// Internal to kernels/: decode's software prefetch of a weight stream, every cache line kAhead
// bytes before the kernel reaches it, into L2. In an unnamed namespace, so each kernel file that
// includes it gets its own copy, compiled with that file's ISA flags: no inline code is shared
// between files built for different instruction sets.
//
// Measured for the AVX2 q4_0 kernel (q4_0's arithmetic per byte is twice q8_0's, and its decode
// from DRAM ran well below both its speed from cache and the read bandwidth): with the stream
// prefetched 16 KiB ahead, 1 thread, GB/s (576x576 / 1536x576 / 576x1536 / 896x896 / 896x4864):
// 21.2 / 25.4 / 22.9 / 24.2 / 31.8 -> 26.6 / 28.6 / 32.0 / 29.6 / 35.5, and SmolLM2-135M tg128
// +11-19%. Nearer (2-4 KiB) was slower than none. q8_0 decode gained nothing and sometimes lost
// 5-9%, so it is left to the hardware prefetcher. Prefetches past the rows of a call are harmless:
// they never fault, and the next matrix in the weight arena is usually the next one read.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace slim::kernels {
namespace {

class StreamPrefetch {
 public:
  explicit StreamPrefetch(const void* start) : next_(static_cast<const char*>(start) + kAhead) {}
  // Prefetch up to kAhead bytes beyond `reached`.
  void upto(const void* reached) {
    for (const char* end = static_cast<const char*>(reached) + kAhead; next_ < end; next_ += 64) {
      _mm_prefetch(next_, _MM_HINT_T1);
    }
  }

 private:
  static constexpr int64_t kAhead = 16 * 1024;
  const char* next_;
};

}  // namespace
}  // namespace slim::kernels
