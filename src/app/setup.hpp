// Before the run: rank 0 reads the options, resolves rates and seed, checks memory and the output
// path and creates the crash journal's folder; then every rank learns the outcome, so that all
// ranks run, or all print nothing and exit with the same code.
#pragma once

#include <mpi.h>

#include <string>

#include "app/cli.hpp"
#include "app/run_description.hpp"

namespace clockbench {

struct Setup {
  CliStatus status = CliStatus::run;
  std::string message;  // --help/--version text, or the error line
  RunDescription run;
};

// Collective. `argc`/`argv` are read on rank 0 only.
Setup decide_setup(int argc, char** argv, MPI_Comm comm);

}  // namespace clockbench
