// The build's and the machine's provenance that every run file records (docs/schema.md, root attributes).
#pragma once

#include <string>

namespace clockbench {

struct BuildProvenance {
  std::string compiler_id;  // as CMake names it: GNU, Clang, ...
  std::string compiler_version;
  std::string build_type;   // Release, Debug, ...; "none" if unset
  std::string build_flags;  // CMAKE_CXX_FLAGS then CMAKE_CXX_FLAGS_<TYPE>
  std::string cpu_model;    // at run time: /proc/cpuinfo "model name", "unknown" without one
};

// This binary's build (values fixed when CMake configured it) and this host's CPU model.
BuildProvenance build_provenance();

// The first "model name" of a /proc/cpuinfo text, or "unknown" if it has none.
std::string cpu_model_of(const std::string& cpuinfo);

}  // namespace clockbench
