// A rank's clock offset to rank 0's over a run, as a straight line between the estimate made before
// the tick loop and the one made after it, and the god's-eye time `t` it places the events at
// (docs/model.md, "God's-eye time"). Pure arithmetic: no MPI, no clock reads.
#pragma once

#include <cmath>
#include <limits>

namespace clockbench {

// One estimate of this rank's monotonic clock minus rank 0's.
struct OffsetEstimate {
  double offset_s = 0.0;       // this rank's clock minus rank 0's
  double uncertainty_s = 0.0;  // half the best ping-pong round trip; 0 for the same clock
  double own_clock_s = 0.0;    // this rank's clock when the estimate holds (its best round's midpoint)
};

// What is left of the line when the end estimate could not be made: the start offset throughout.
inline OffsetEstimate no_estimate() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {nan, nan, nan};
}

struct ClockLine {
  OffsetEstimate start;
  OffsetEstimate end = no_estimate();

  // Both estimates usable, the end one after the start one on this rank's clock.
  bool has_end() const {
    return std::isfinite(end.offset_s) && std::isfinite(end.uncertainty_s) && std::isfinite(end.own_clock_s) &&
           end.own_clock_s > start.own_clock_s && interval_s() > 0.0;
  }
  // Rank 0's clock from the start estimate to the end one (wall seconds).
  double interval_s() const { return (end.own_clock_s - end.offset_s) - (start.own_clock_s - start.offset_s); }
  // This rank's clock rate minus rank 0's, in parts per million of rank 0's: the offset's growth
  // over the interval. NaN without an end estimate.
  double rate_ppm() const {
    return has_end() ? (end.offset_s - start.offset_s) / interval_s() * 1e6 : std::numeric_limits<double>::quiet_NaN();
  }
  // The offset at this rank's clock reading `own`: linear between the two estimates (and beyond
  // them on the same line); the start offset without an end estimate.
  double offset_at(double own) const {
    if (!has_end()) return start.offset_s;
    const double along = (own - start.own_clock_s) / (end.own_clock_s - start.own_clock_s);
    return start.offset_s + along * (end.offset_s - start.offset_s);
  }
  // The larger of the two estimates' uncertainties: a bound on the line's error anywhere between
  // them, less the curvature of the true offset (docs/model.md).
  double uncertainty_s() const {
    return has_end() ? std::fmax(start.uncertainty_s, end.uncertainty_s) : start.uncertainty_s;
  }
};

// Moves a god's-eye model time measured on the start offset onto the line. The tick loop stamps
// t = (own - start.offset_s - t0_rank0) * speedup; on the line it is
// (own - offset_at(own) - t0_rank0) * speedup, which in terms of the loop's t reads
//   t - (t - start_t) * d / (interval + d),  d = end.offset_s - start.offset_s,
// with start_t the model time of the start estimate and interval + d the interval on this rank's
// clock. Needs only what /machines records, so a reader can redo it.
struct TimePlacement {
  double start_t = 0.0;  // model time of the start estimate (on rank 0's clock, where the line starts)
  double drift = 0.0;    // d / (interval + d): the offset's growth per unit of this rank's clock; 0 keeps t

  bool moves() const { return drift != 0.0; }
  double operator()(double t) const { return drift == 0.0 ? t : t - (t - start_t) * drift; }
};

// The placement from what /machines records: the start estimate's model time, both offsets and the
// interval between them on rank 0's clock. Keeps t where there is no end estimate (NaN fields).
inline TimePlacement time_placement(double start_t, double start_offset_s, double end_offset_s, double interval_s) {
  TimePlacement p;
  p.start_t = start_t;
  if (std::isfinite(start_t) && std::isfinite(end_offset_s) && std::isfinite(interval_s) && interval_s > 0.0) {
    const double d = end_offset_s - start_offset_s;
    p.drift = d / (interval_s + d);
  }
  return p;
}

// Model time of the start estimate: t0_rank0 is rank 0's clock at model time 0, speedup model
// seconds per wall second.
inline double start_estimate_t(const ClockLine& line, double t0_rank0, double speedup) {
  return (line.start.own_clock_s - line.start.offset_s - t0_rank0) * speedup;
}

}  // namespace clockbench
