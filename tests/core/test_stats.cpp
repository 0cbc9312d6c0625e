// Percentiles agree with numpy's default (linear interpolation between order statistics).
#include <gtest/gtest.h>

#include "core/stats.hpp"

namespace clockbench {

TEST(Percentiles, MatchLinearInterpolation) {
  std::vector<double> v{5, 1, 4, 2, 3};  // sorted 1..5
  EXPECT_DOUBLE_EQ(percentile(v, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(percentile(v, 0.99), 4.96);  // numpy.percentile([1..5], 99)
  const Percentiles p = percentiles({0.5, 0.1, 0.9});
  EXPECT_DOUBLE_EQ(p.p50, 0.5);
  EXPECT_DOUBLE_EQ(p.max, 0.9);
  EXPECT_DOUBLE_EQ(percentiles({}).max, 0.0);
}

}  // namespace clockbench
