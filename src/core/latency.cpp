// Parsing and drawing of the message latency; the forms are those of docs/model.md.
#include "core/latency.hpp"

#include <charconv>
#include <cmath>

#include "core/config_text.hpp"

namespace clockbench {

namespace {

// A whole-word non-negative finite number, or nullopt.
std::optional<double> latency_number(std::string_view w) {
  double x = 0.0;
  const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), x);
  if (w.empty() || ec != std::errc() || end != w.data() + w.size() || !std::isfinite(x) || x < 0.0) return std::nullopt;
  return x + 0.0;  // -0 reads as 0
}

}  // namespace

double Latency::draw(Rng& rng) const {
  switch (form) {
    case Form::uniform:
      return a + rng.uniform() * (b - a);
    case Form::exponential:
      return -a * std::log(1.0 - rng.uniform());
    case Form::constant:
    default:
      return a;
  }
}

std::string Latency::text() const {
  switch (form) {
    case Form::uniform:
      return "uniform:" + format_number(a) + "," + format_number(b);
    case Form::exponential:
      return "exp:" + format_number(a);
    case Form::constant:
    default:
      return format_number(a);
  }
}

std::optional<Latency> parse_latency(std::string_view text, std::string& error) {
  const std::string usage = " (model seconds: a constant such as 0.05, uniform:LO,HI or exp:MEAN, all >= 0)";
  auto fail = [&](const std::string& why) {
    error = why + usage;
    return std::nullopt;
  };
  Latency l;
  if (text.rfind("uniform:", 0) == 0) {
    const std::string_view rest = text.substr(8);
    const std::size_t comma = rest.find(',');
    if (comma == std::string_view::npos) return fail("'" + std::string(text) + "' needs two bounds, LO,HI");
    const auto lo = latency_number(rest.substr(0, comma)), hi = latency_number(rest.substr(comma + 1));
    if (!lo || !hi) return fail("'" + std::string(text) + "' has a bound that is not a number >= 0");
    if (*lo > *hi) return fail("'" + std::string(text) + "' has LO greater than HI");
    l.form = Latency::Form::uniform;
    l.a = *lo;
    l.b = *hi;
    return l;
  }
  if (text.rfind("exp:", 0) == 0) {
    const auto mean = latency_number(text.substr(4));
    if (!mean) return fail("'" + std::string(text) + "' needs a mean that is a number >= 0");
    l.form = Latency::Form::exponential;
    l.a = *mean;
    return l;
  }
  const auto d = latency_number(text);
  if (!d) return fail("'" + std::string(text) + "' is not a latency");
  l.a = *d;
  return l;
}

}  // namespace clockbench
