// Prints the /config text clockbench would store for a command line, without running anything:
// the C++ half of tests/analysis/test_config_text.py, which renders the same configurations with
// the analysis's renderer (analysis/clockbench/file/config_text.py) and compares the two texts.
//
//   clockbench_config_text N_MACHINES [clockbench options, with --seed]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "app/cli.hpp"
#include "app/run_description.hpp"
#include "core/rates.hpp"
#include "version.hpp"

int main(int argc, char** argv) {
  using namespace clockbench;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s N_MACHINES [clockbench options, with --seed]\n", argv[0]);
    return 2;
  }
  const int n = std::atoi(argv[1]);
  argv[1] = argv[0];  // the options, after a program name, as clockbench's own
  const CliOutcome cli = parse_cli(argc - 1, argv + 1, n);
  if (cli.status != CliStatus::run || !cli.config.seed) {
    std::fprintf(stderr, "%s\n", cli.status == CliStatus::run ? "give --seed" : cli.message.c_str());
    return 2;
  }
  // As rank 0 decides a run (src/app/setup.cpp), with the seed given.
  RunDescription d;
  d.config = cli.config;
  d.n_machines = n;
  d.seed = *cli.config.seed;
  d.rates = resolve_rates(d.config, n, d.seed);
  d.version = kVersion;
  std::fputs(config_text(d).c_str(), stdout);
  return 0;
}
