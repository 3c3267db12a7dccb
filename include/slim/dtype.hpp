// Element types of tensors and weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace slim {

enum class DType : uint8_t {
  f32,
  f16,
  bf16,
};

// Bytes of one element.
constexpr size_t dtype_size(DType t) noexcept {
  switch (t) {
    case DType::f32: return 4;
    case DType::f16: return 2;
    case DType::bf16: return 2;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType t) noexcept {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
  }
  return "?";
}

}  // namespace slim
