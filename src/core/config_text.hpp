// The resolved configuration as CLI11 config-file text: stored in every output file as /config,
// and read back by `clockbench --config FILE` to rerun the same experiment. The analysis renders the
// same text in analysis/clockbench/file/config_text.py (tests/analysis/test_config_text.py compares them).
#pragma once

#include <string>
#include <vector>

#include "core/config.hpp"

namespace clockbench {

// Shortest text that reads back as exactly the same double.
std::string format_number(double x);

// `rates` and `seed` are the resolved ones; output, force and quiet are not part of an experiment.
std::string to_config_text(const Config& c, const std::vector<double>& rates, std::uint64_t seed,
                           const std::string& header_comment);

}  // namespace clockbench
