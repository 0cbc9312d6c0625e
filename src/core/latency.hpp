// The model's message latency (docs/model.md, "Delivery in model time"): a constant, uniform in
// [LO, HI] or exponential, in model seconds, drawn per message from the sender's latency stream.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/random.hpp"

namespace clockbench {

struct Latency {
  enum class Form { constant, uniform, exponential };
  Form form = Form::constant;
  double a = 0.0;  // constant: D; uniform: LO; exponential: MEAN
  double b = 0.0;  // uniform: HI

  // The least latency a message can have: how far ahead of a peer's progress a tick may decide.
  double least() const { return form == Form::exponential ? 0.0 : a; }
  // Draws nothing for a constant; one uniform of `rng` otherwise.
  double draw(Rng& rng) const;
  // The setting as the option takes it (and the file records it): 0.05, uniform:LO,HI, exp:MEAN.
  std::string text() const;
};

// Parses a --latency setting; on failure returns nullopt and sets `error` to one line naming the fix.
std::optional<Latency> parse_latency(std::string_view text, std::string& error);

}  // namespace clockbench
