// Order statistics of a run's measurements (tick lateness).
#pragma once

#include <vector>

namespace clockbench {

struct Percentiles {
  double p50 = 0.0;
  double p99 = 0.0;
  double max = 0.0;
};

// Linear interpolation between order statistics (numpy's default), so Python can cross-check.
double percentile(std::vector<double>& values, double q);  // reorders `values`
Percentiles percentiles(std::vector<double> values);       // all zero when empty

}  // namespace clockbench
