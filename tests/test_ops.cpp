// Element-wise and row-wise operations (src/ops) against plain double-precision references.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "ops/ops.hpp"

TEST_CASE("add_weighted_rows adds the weighted sum of the rows", "[ops]") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t n : {1, 5, 64, 96}) {
    for (int64_t count = 0; count <= 9; ++count) {
      std::vector<float> w(static_cast<size_t>(count)), rows(static_cast<size_t>(count * n)), out(static_cast<size_t>(n));
      for (auto& v : w) v = u(rng);
      for (auto& v : rows) v = u(rng);
      for (auto& v : out) v = u(rng);
      std::vector<double> expected(out.begin(), out.end());
      for (int64_t t = 0; t < count; ++t) {
        for (int64_t d = 0; d < n; ++d) expected[static_cast<size_t>(d)] += double{w[static_cast<size_t>(t)]} * rows[static_cast<size_t>(t * n + d)];
      }
      slim::ops::add_weighted_rows(w.data(), rows.data(), count, n, out.data());
      for (int64_t d = 0; d < n; ++d) {
        INFO("n " << n << " count " << count << " d " << d);
        CHECK(std::abs(out[static_cast<size_t>(d)] - expected[static_cast<size_t>(d)]) <= 1e-5 * (1 + count));
      }
    }
  }
}
