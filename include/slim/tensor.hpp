// slim::Tensor: a contiguous, row-major array of up to 4 dimensions. It either owns 64-byte-aligned
// memory or is a non-owning view into memory someone else keeps alive (a mapped weights file).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>

#include "slim/dtype.hpp"

namespace slim {

class Tensor {
 public:
  static constexpr int kMaxDims = 4;
  static constexpr size_t kAlignment = 64;

  Tensor() = default;

  // A zero-filled tensor that owns its memory.
  static Tensor zeros(DType dtype, std::span<const int64_t> shape);
  static Tensor zeros(DType dtype, std::initializer_list<int64_t> shape) {
    return zeros(dtype, std::span<const int64_t>(shape.begin(), shape.size()));
  }
  // A view of `data`, which must outlive the tensor and every copy of it.
  static Tensor view(DType dtype, std::span<const int64_t> shape, const void* data);
  // A writable tensor over `data`, which lies in memory that `owner` keeps alive (a slice of a
  // larger allocation); copies of the tensor share the ownership.
  static Tensor within(std::shared_ptr<void> owner, DType dtype, std::span<const int64_t> shape, void* data);

  DType dtype() const noexcept { return dtype_; }
  int ndim() const noexcept { return ndim_; }
  int64_t dim(int i) const noexcept { return shape_[static_cast<size_t>(i)]; }
  std::span<const int64_t> shape() const noexcept { return {shape_.data(), static_cast<size_t>(ndim_)}; }
  int64_t numel() const noexcept;
  // Bytes of the data; for block-quantized dtypes (q8_0, q4_0) whole blocks of the last dimension.
  size_t nbytes() const noexcept;
  bool empty() const noexcept { return data_ == nullptr; }
  bool owns_memory() const noexcept { return storage_ != nullptr; }

  const void* data() const noexcept { return data_; }
  // Writable data; only owning tensors may be written.
  void* mutable_data();

  template <typename T>
  const T* data_as() const noexcept { return static_cast<const T*>(data_); }
  template <typename T>
  T* mutable_data_as() { return static_cast<T*>(mutable_data()); }

  // "[2, 64] bf16", for messages.
  std::string describe() const;

 private:
  struct AlignedFree {
    void operator()(void* p) const noexcept;
  };

  DType dtype_ = DType::f32;
  int ndim_ = 0;
  std::array<int64_t, kMaxDims> shape_{};
  const void* data_ = nullptr;
  std::shared_ptr<void> storage_;  // set when the tensor owns (or shares) its memory
};

}  // namespace slim
