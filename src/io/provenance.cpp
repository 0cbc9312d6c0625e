// The build's provenance from the header CMake configures (cmake/build_info.hpp.in), the CPU's from /proc.
#include "io/provenance.hpp"

#include <fstream>
#include <sstream>

#include "build_info.hpp"

namespace clockbench {

std::string cpu_model_of(const std::string& cpuinfo) {
  std::istringstream lines(cpuinfo);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto first = line.find_first_not_of(" \t", colon + 1);
    if (first == std::string::npos) continue;
    return line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
  }
  return "unknown";
}

BuildProvenance build_provenance() {
  BuildProvenance p{kCompilerId, kCompilerVersion, kBuildType, kBuildFlags, "unknown"};
  std::ifstream in("/proc/cpuinfo");
  if (in) {
    std::ostringstream text;
    text << in.rdbuf();
    p.cpu_model = cpu_model_of(text.str());
  }
  return p;
}

}  // namespace clockbench
