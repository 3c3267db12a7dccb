// The weight-type table (weight_types.hpp), in DType order.
#include "kernels/weight_types.hpp"

namespace slim::kernels {
namespace {

constexpr WeightType kWeightTypes[] = {
    {DType::f32, ActFormat::f32, quantize_row_f32, dequantize_row_f32, nullptr, nullptr},
    {DType::f16, ActFormat::f32, quantize_row_f16, dequantize_row_f16, nullptr, nullptr},
    {DType::bf16, ActFormat::f32, quantize_row_bf16, dequantize_row_bf16, nullptr, nullptr},
    {DType::q8_0, ActFormat::q8_32, quantize_row_q8_0, dequantize_row_q8_0, to_groups8_q8_0, from_groups8_q8_0},
    {DType::q4_0, ActFormat::q8_32, quantize_row_q4_0, dequantize_row_q4_0, to_groups8_q4_0, from_groups8_q4_0},
    {DType::q4_1, ActFormat::q8_32, quantize_row_q4_1, dequantize_row_q4_1, to_groups8_q4_1, from_groups8_q4_1},
    {DType::q5_0, ActFormat::q8_32, quantize_row_q5_0, dequantize_row_q5_0, to_groups8_q5_0, from_groups8_q5_0},
    {DType::q5_1, ActFormat::q8_32, quantize_row_q5_1, dequantize_row_q5_1, to_groups8_q5_1, from_groups8_q5_1},
    {DType::q4_k, ActFormat::q8_k, quantize_row_q4_k, dequantize_row_q4_k, to_groups8_q4_k, from_groups8_q4_k},
    {DType::q5_k, ActFormat::q8_k, quantize_row_q5_k, dequantize_row_q5_k, to_groups8_q5_k, from_groups8_q5_k},
    {DType::q6_k, ActFormat::q8_k, quantize_row_q6_k, dequantize_row_q6_k, to_groups8_q6_k, from_groups8_q6_k},
};
static_assert(std::size(kWeightTypes) == kDTypeCount, "one entry per DType");

constexpr bool in_dtype_order() {
  for (size_t i = 0; i < kDTypeCount; ++i) {
    if (kWeightTypes[i].dtype != static_cast<DType>(i)) return false;
  }
  return true;
}
static_assert(in_dtype_order(), "kWeightTypes is indexed by DType");

}  // namespace

const WeightType& weight_type(DType dtype) noexcept { return kWeightTypes[static_cast<size_t>(dtype)]; }

}  // namespace slim::kernels
