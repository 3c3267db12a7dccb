// Python's sequence slicing seq[start:stop:step], with negative indices and steps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace slim::chat {

// The step must not be zero (the caller reports that).
template <typename T>
std::vector<T> slice_of(const std::vector<T>& seq, std::optional<std::int64_t> start,
                        std::optional<std::int64_t> stop, std::optional<std::int64_t> step) {
  const auto n = static_cast<std::int64_t>(seq.size());
  const std::int64_t s = step.value_or(1);
  // Clamp like CPython's PySlice_AdjustIndices.
  const auto adjust = [&](std::optional<std::int64_t> v, std::int64_t fallback) {
    if (!v) return fallback;
    std::int64_t i = *v < 0 ? *v + n : *v;
    if (s > 0) return std::clamp<std::int64_t>(i, 0, n);
    return std::clamp<std::int64_t>(i, -1, n - 1);
  };
  const std::int64_t first = adjust(start, s > 0 ? 0 : n - 1);
  const std::int64_t last = adjust(stop, s > 0 ? n : -1);
  // Any step longer than the sequence acts alike; clamping keeps i += step from overflowing.
  const std::int64_t stride = std::clamp<std::int64_t>(s, -(n + 1), n + 1);
  std::vector<T> out;
  if (s > 0) {
    for (std::int64_t i = first; i < last; i += stride) out.push_back(seq[static_cast<std::size_t>(i)]);
  } else {
    for (std::int64_t i = first; i > last; i += stride) out.push_back(seq[static_cast<std::size_t>(i)]);
  }
  return out;
}

}  // namespace slim::chat
