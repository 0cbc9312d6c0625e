// The microbenchmarks' main: MPI first (the transport benchmarks send messages to themselves, in a
// single process started without mpirun), then Google Benchmark, whose JSON output carries the
// build's provenance as custom context.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <exception>

#include "git_sha.hpp"
#include "mpi/mpi_env.hpp"
#include "version.hpp"

#ifndef CLOCKBENCH_BUILD_TYPE
#define CLOCKBENCH_BUILD_TYPE "unknown"
#endif

int main(int argc, char** argv) {
  try {
    clockbench::MpiEnvironment mpi(argc, argv);
    benchmark::AddCustomContext("clockbench_version", clockbench::kVersion);
    benchmark::AddCustomContext("git_sha", clockbench::kGitSha);
    benchmark::AddCustomContext("build_type", CLOCKBENCH_BUILD_TYPE);
    benchmark::AddCustomContext("mpi_library_version", clockbench::MpiEnvironment::library_version());
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clockbench_bench: error: %s\n", e.what());
    return 1;
  }
}
