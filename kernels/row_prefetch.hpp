// Internal to the attention kernel files (attention_rows_avx2.cpp, ..._avx512_vnni.cpp): the
// software prefetch of a head's key or value rows. In an unnamed namespace, so each including file
// gets its own copy, compiled with that file's ISA flags.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace slim::kernels {
namespace {

// A head's keys and values come from DRAM at decode: the weight stream of a token evicts them from
// the caches. The hardware prefetcher follows dot_rows_8's eight interleaved rows and the value
// sums' two 32-column passes poorly (keys at about 15 GB/s where a plain sum reads 30), so each
// row is prefetched into L2 once, kAhead bytes before it is read. Measured (1 thread; bench_matmul
// --benchmark_filter=attention_rows, one head's 3 queries, keys and values from DRAM, three runs
// alternating): 1024 positions 31.0 -> 22.9 us, 7 queries 50.4 -> 34.5 us; slim-bench
// SmolLM2-135M tg32 @ d1024, q4_0 1 / 2 threads 144 -> 181 / 213 -> 252 tokens/s, q8_0 115 -> 131
// / 154 -> 201. Short heads pay: 64 positions 1.4 -> 1.8 us (the prefetches run past the rows;
// the tg128 of whole models was unchanged or faster). Into L1 it was no faster than none; a
// burst over the first 4-16 KiB of every head before a layer's attention did not help short
// contexts.
class RowPrefetch {
 public:
  template <typename Row>
  RowPrefetch(const Row* rows, int64_t row_stride, int64_t cols)
      : rows_(reinterpret_cast<uintptr_t>(rows)), stride_bytes_(row_stride * int64_t{sizeof(Row)}),
        bytes_(cols * int64_t{sizeof(Row)}),
        ahead_(std::max<int64_t>(8, kAhead / std::max<int64_t>(stride_bytes_, 1))) {}
  // Prefetch the cache lines of rows [t + ahead, t + ahead + n). They may lie past the caller's
  // rows (the next value block, or memory nobody reads): a prefetch never faults. Addresses as
  // integers, since such a pointer may not be formed. Stopping at the rows the caller reads lost
  // at long contexts (docs/performance.md, third November 26 session): not kept.
  void rows(int64_t t, int64_t n) const {
    for (int64_t r = t + ahead_; r < t + ahead_ + n; ++r) {
      const uintptr_t row = rows_ + static_cast<uintptr_t>(r * stride_bytes_);
      for (uintptr_t line = row & ~uintptr_t{63}; line < row + bytes_; line += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(line), _MM_HINT_T1);
      }
    }
  }

 private:
  static constexpr int64_t kAhead = 16 * 1024;
  uintptr_t rows_;
  int64_t stride_bytes_, bytes_, ahead_;
};

}  // namespace
}  // namespace slim::kernels
