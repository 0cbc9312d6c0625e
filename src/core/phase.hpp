// A machine's phase: the model time of its tick 0 (docs/model.md). Drawn from the machine's
// phase stream, so it changes neither its action draws nor its latencies.
#pragma once

#include <cstdint>

#include "core/config.hpp"
#include "core/random.hpp"
#include "core/schedule.hpp"

namespace clockbench {

inline double machine_phase(std::uint64_t run_seed, std::uint64_t rank, double rate, PhaseMode mode) {
  if (mode == PhaseMode::zero || is_flat_out(rate)) return 0.0;
  Rng rng(stream_seed(run_seed, phase_stream(rank)));
  return rng.uniform() / rate;
}

}  // namespace clockbench
