// Percentiles by selection (nth_element): O(n), no full sort.
#include "core/stats.hpp"

#include <algorithm>
#include <cmath>

namespace clockbench {

double percentile(std::vector<double>& values, double q) {
  if (values.empty()) return 0.0;
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
  const double a = values[lo];
  if (lo + 1 >= values.size()) return a;
  const double b = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lo) + 1, values.end());
  return a + (b - a) * (pos - static_cast<double>(lo));
}

Percentiles percentiles(std::vector<double> values) {
  Percentiles p;
  if (values.empty()) return p;
  p.max = *std::max_element(values.begin(), values.end());
  p.p99 = percentile(values, 0.99);
  p.p50 = percentile(values, 0.50);
  return p;
}

}  // namespace clockbench
