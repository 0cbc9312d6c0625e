// The platform services that need code: what a simulated run ran on.
#include "mpi/platform.hpp"

#include <cstdlib>

#ifdef CLOCKBENCH_SMPI
// simgrid/version.h uses xbt/base.h's macros without including it: xbt/base.h first.
// clang-format off
#include <xbt/base.h>
#include <simgrid/version.h>
// clang-format on
#endif

namespace clockbench::platform {

Simulation simulation() {
  Simulation s;
#ifdef CLOCKBENCH_SMPI
  const char* name = std::getenv("CLOCKBENCH_SIM_PLATFORM");
  const char* parameters = std::getenv("CLOCKBENCH_SIM_PARAMETERS");
  s.platform = name && *name ? name : "unnamed";
  s.parameters = parameters ? parameters : "";
  int major = 0, minor = 0, patch = 0;
  sg_version_get(&major, &minor, &patch);  // the library the simulation runs on, not the headers'
  s.simgrid_version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
#endif
  return s;
}

}  // namespace clockbench::platform
