#include "slim/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "slim/error.hpp"

namespace slim {
namespace {

void set_shape(std::array<int64_t, Tensor::kMaxDims>& dst, int& ndim, DType dtype,
               std::span<const int64_t> shape) {
  if (shape.size() > Tensor::kMaxDims) {
    throw Error(ErrorCode::invalid_argument, "tensor has " + std::to_string(shape.size()) +
                                                 " dimensions; at most 4 are supported");
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(ErrorCode::invalid_argument, "tensor dimension is negative");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / 16 / d) {
      throw Error(ErrorCode::invalid_argument, "tensor is too large");
    }
    n *= d;
  }
  const int64_t block = dtype_block_elems(dtype);
  if (block > 1 && (shape.empty() || shape.back() % block != 0)) {
    throw Error(ErrorCode::invalid_argument,
                std::string("tensor of dtype ") + std::string(dtype_name(dtype)) +
                    " needs a last dimension that is a multiple of " + std::to_string(block));
  }
  ndim = static_cast<int>(shape.size());
  dst.fill(0);
  std::copy(shape.begin(), shape.end(), dst.begin());
}

}  // namespace

void Tensor::AlignedFree::operator()(void* p) const noexcept { std::free(p); }

Tensor Tensor::zeros(DType dtype, std::span<const int64_t> shape) {
  Tensor t;
  t.dtype_ = dtype;
  set_shape(t.shape_, t.ndim_, dtype, shape);
  // Round up so aligned_alloc gets a multiple of the alignment; never allocate zero bytes.
  size_t bytes = (t.nbytes() + kAlignment - 1) / kAlignment * kAlignment;
  if (bytes == 0) bytes = kAlignment;
  void* p = std::aligned_alloc(kAlignment, bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  t.storage_ = std::shared_ptr<void>(p, AlignedFree{});
  t.data_ = p;
  return t;
}

Tensor Tensor::view(DType dtype, std::span<const int64_t> shape, const void* data) {
  Tensor t;
  t.dtype_ = dtype;
  set_shape(t.shape_, t.ndim_, dtype, shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::within(std::shared_ptr<void> owner, DType dtype, std::span<const int64_t> shape, void* data) {
  if (!owner || data == nullptr) throw Error(ErrorCode::invalid_argument, "Tensor::within needs an owner and data");
  Tensor t;
  t.dtype_ = dtype;
  set_shape(t.shape_, t.ndim_, dtype, shape);
  t.storage_ = std::move(owner);
  t.data_ = data;
  return t;
}

int64_t Tensor::numel() const noexcept {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= shape_[static_cast<size_t>(i)];
  return n;
}

size_t Tensor::nbytes() const noexcept {
  if (ndim_ == 0) return dtype_row_bytes(dtype_, 1);  // a scalar (plain dtypes only)
  const int64_t cols = shape_[static_cast<size_t>(ndim_ - 1)];
  const int64_t rows = cols == 0 ? 0 : numel() / cols;
  return static_cast<size_t>(rows) * dtype_row_bytes(dtype_, cols);
}

void* Tensor::mutable_data() {
  if (!storage_) throw Error(ErrorCode::invalid_argument, "cannot write to a tensor view");
  return const_cast<void*>(data_);
}

std::string Tensor::describe() const {
  std::string s = "[";
  for (int i = 0; i < ndim_; ++i) {
    if (i) s += ", ";
    s += std::to_string(shape_[static_cast<size_t>(i)]);
  }
  s += "] ";
  s += dtype_name(dtype_);
  return s;
}

}  // namespace slim
