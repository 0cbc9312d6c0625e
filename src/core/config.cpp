// Validation of a configuration: every rule a user can break, with a message naming the fix.
#include "core/config.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/schedule.hpp"

namespace clockbench {

namespace {

bool positive_finite(double x) { return std::isfinite(x) && x > 0.0; }

}  // namespace

std::string validate(const Config& c, int n_machines) {
  std::ostringstream err;
  if (n_machines < 2) {
    err << "clockbench needs at least 2 machines (MPI ranks), got " << n_machines
        << ": run it with mpirun -np N, N >= 2";
    return err.str();
  }
  if (std::string bad = check_topology(c.topology, n_machines); !bad.empty()) return bad;
  if (!positive_finite(c.duration_s)) {
    err << "--duration must be a positive number of model seconds, got " << c.duration_s;
    return err.str();
  }
  if (!positive_finite(c.speedup)) {
    err << "--speedup must be a positive number, got " << c.speedup;
    return err.str();
  }
  if (!(c.flush_interval_s >= 0.0 && c.flush_interval_s <= 3600.0)) {
    err << "--flush-interval must be a number of wall seconds from 0 (off) to 3600, got " << c.flush_interval_s;
    return err.str();
  }
  if (!(c.grace_s >= 0.0 && c.grace_s <= 10.0)) {
    err << "--grace must be a number of wall seconds from 0 to 10, got " << c.grace_s;
    return err.str();
  }
  if (!(c.p_internal >= 0.0 && c.p_internal <= 1.0)) {
    err << "--p-internal must be a probability in [0, 1], got " << c.p_internal;
    return err.str();
  }
  if (c.flat_out) {
    if (c.realtime)
      return "--realtime is for paced runs: flat out (--rates max) a rank never sleeps, and at real-time priority "
             "it would hold a processor from every other process; drop --realtime or give rates";
    if (!(c.max_ticks >= 1 && c.max_ticks <= kMaxTicksPerMachine)) {
      err << "--max-ticks must be a whole number of ticks per machine from 1 to " << kMaxTicksPerMachine << ", got "
          << c.max_ticks;
      return err.str();
    }
    return {};  // no rates to check: every machine runs flat out
  }
  if (!c.rates.empty()) {
    if (static_cast<int>(c.rates.size()) != n_machines) {
      err << "--rates lists " << c.rates.size() << " rates but there are " << n_machines
          << " machines (MPI ranks): give one rate per rank";
      return err.str();
    }
    for (std::size_t i = 0; i < c.rates.size(); ++i) {
      if (!positive_finite(c.rates[i])) {
        err << "--rates: rate " << i << " is " << c.rates[i] << "; every rate must be a positive number";
        return err.str();
      }
    }
  } else {
    if (!positive_finite(c.rate_min) || !positive_finite(c.rate_max)) {
      err << "--rate-min and --rate-max must be positive, got " << c.rate_min << " and " << c.rate_max;
      return err.str();
    }
    if (c.rate_min > c.rate_max) {
      err << "--rate-min (" << c.rate_min << ") is greater than --rate-max (" << c.rate_max << ")";
      return err.str();
    }
    if (!c.fractional_rates && std::ceil(c.rate_min) > std::floor(c.rate_max)) {
      err << "no integer rate lies in [" << c.rate_min << ", " << c.rate_max
          << "]: widen the range or add --fractional-rates";
      return err.str();
    }
  }
  const double fastest = c.rates.empty() ? c.rate_max : *std::max_element(c.rates.begin(), c.rates.end());
  if (fastest * c.duration_s > static_cast<double>(kMaxTicksPerMachine)) {
    err << "rate " << fastest << " Hz for " << c.duration_s << " s is more than " << kMaxTicksPerMachine
        << " ticks on one machine: shorten --duration";
    return err.str();
  }
  return {};
}

}  // namespace clockbench
