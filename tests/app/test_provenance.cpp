// The CPU model a run file records: the first "model name" of /proc/cpuinfo, "unknown" without one.
#include <gtest/gtest.h>

#include "io/provenance.hpp"

namespace clockbench {
namespace {

TEST(CpuModel, TakesTheFirstModelNameTrimmed) {
  const std::string x86 =
      "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor  \n"
      "processor\t: 1\nmodel name\t: Other CPU\n";
  EXPECT_EQ(cpu_model_of(x86), "AMD EPYC 7B13 64-Core Processor");
}

TEST(CpuModel, UnknownWithoutOne) {
  // aarch64's /proc/cpuinfo has no model name; "model" alone is not it, nor an empty value.
  EXPECT_EQ(cpu_model_of("processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n"), "unknown");
  EXPECT_EQ(cpu_model_of("model\t\t: 1\nmodel name\t:   \n"), "unknown");
  EXPECT_EQ(cpu_model_of(""), "unknown");
}

}  // namespace
}  // namespace clockbench
