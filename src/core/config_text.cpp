// Writes the keys under the same names as the command-line options (CLI11 maps them back).
#include "core/config_text.hpp"

#include <charconv>
#include <sstream>

namespace clockbench {

std::string format_number(double x) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, res.ptr);
}

std::string to_config_text(const Config& c, const std::vector<double>& rates, std::uint64_t seed,
                           const std::string& header_comment) {
  std::ostringstream out;
  out << "# " << header_comment << "\n";
  out << "duration=" << format_number(c.duration_s) << "\n";
  if (c.flat_out) {
    out << "rates=[\"max\"]\n";
    out << "max-ticks=" << c.max_ticks << "\n";
  } else {
    out << "rates=[";
    for (std::size_t i = 0; i < rates.size(); ++i) out << (i ? "," : "") << format_number(rates[i]);
    out << "]\n";
  }
  out << "p-internal=" << format_number(c.p_internal) << "\n";
  out << "seed=" << seed << "\n";
  out << "topology=\"" << c.topology.text() << "\"\n";
  out << "speedup=" << format_number(c.speedup) << "\n";
  out << "phase=\"" << phase_mode_name(c.phase) << "\"\n";
  out << "latency=\"" << c.latency.text() << "\"\n";
  out << "grace=" << format_number(c.grace_s) << "\n";
  if (c.realtime) out << "realtime=true\n";
  return out.str();
}

}  // namespace clockbench
