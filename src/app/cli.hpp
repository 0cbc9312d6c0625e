// The command line (CLI11): options -> Config, with every error as one line.
#pragma once

#include <string>

#include "core/config.hpp"

namespace clockbench {

enum class CliStatus { run, exit_ok, error };

struct CliOutcome {
  CliStatus status = CliStatus::run;
  std::string message;  // help or version text (exit_ok), one-line error (error)
  Config config;
  std::string json;  // --json FILE: the result line's and the table's figures as JSON ("": none)
};

// Parses and validates for a run on `n_machines` ranks. Rank 0 only; the result is broadcast.
CliOutcome parse_cli(int argc, char** argv, int n_machines);

}  // namespace clockbench
