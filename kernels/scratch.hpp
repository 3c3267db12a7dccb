// Scratch memory of one kernel call: decode makes hundreds of matmul calls a token, and a heap
// allocation each (malloc, free and the page faults of fresh blocks) cost about 1.5% of
// SmolLM2-135M's 1-thread decode time.
#pragma once

#include <cstddef>
#include <memory>

namespace slim::kernels {

// n default-initialised T: on the stack when n <= N, on the heap otherwise.
template <typename T, size_t N>
class Scratch {
 public:
  explicit Scratch(size_t n) : heap_(n > N ? new T[n] : nullptr) {}
  T* get() noexcept { return heap_ ? heap_.get() : local_; }

 private:
  T local_[N];
  std::unique_ptr<T[]> heap_;
};

}  // namespace slim::kernels
