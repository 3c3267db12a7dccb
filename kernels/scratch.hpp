// Scratch memory of one kernel call: decode makes hundreds of matmul calls a token, and a heap
// allocation each (malloc, free and the page faults of fresh blocks) cost 1.4% of SmolLM2-135M's
// 1-thread decode time.
#pragma once

#include <cstddef>
#include <memory>

namespace slim::kernels {

// n default-initialised T: inline (on the stack) when n <= N, on the heap otherwise.
template <typename T, size_t N>
class Scratch {
 public:
  explicit Scratch(size_t n = 0) { data(n); }
  Scratch(const Scratch&) = delete;  // get() may point into the object itself
  Scratch& operator=(const Scratch&) = delete;
  // Room for n elements (what was there before is not kept).
  T* data(size_t n) {
    if (n > N) heap_.reset(new T[n]);
    return get();
  }
  T* get() noexcept { return heap_ ? heap_.get() : local_; }

 private:
  T local_[N];
  std::unique_ptr<T[]> heap_;
};

}  // namespace slim::kernels
