// Memory for the weight matrices a model computes at load (quantized, converted or random): large
// chunks on 2 MiB-aligned addresses that Linux may back with transparent huge pages. Decode streams
// every weight once per token; with 4 KiB pages that is a TLB miss and a restarted hardware
// prefetch every 4 KiB. Measured (Zen 1, 1 thread, q8_0 1536x576 from DRAM): 17 GB/s on 4 KiB
// pages, 24 GB/s on huge pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "slim/tensor.hpp"

namespace slim {

// At least `bytes` of zeroed memory on a 2 MiB-aligned address, advised for transparent huge pages;
// pages are only backed when first touched. Throws std::bad_alloc.
std::shared_ptr<void> huge_page_memory(size_t bytes);

class WeightArena {
 public:
  // A zero-filled rows x cols matrix; its memory lives as long as the tensor or any copy of it.
  Tensor matrix(DType dtype, int64_t rows, int64_t cols);

 private:
  std::shared_ptr<void> chunk_;
  unsigned char* next_ = nullptr;
  size_t left_ = 0;
};

}  // namespace slim
