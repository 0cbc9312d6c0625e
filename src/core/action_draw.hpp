// The draw of a free tick (empty queue): send to one peer, send to all peers, or internal.
// With internal probability p: P(one peer) = 2(1-p)/3 split uniformly among the peers,
// P(all peers) = (1-p)/3. For p = 0.7 and two peers this is the exercise's 1..10 draw.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/event.hpp"
#include "core/random.hpp"

namespace clockbench {

struct Action {
  EventKind kind = EventKind::internal;
  std::int32_t peer_index = -1;  // index into the machine's peer list, for send_one
};

class ActionDraw {
 public:
  ActionDraw(double p_internal, std::size_t n_peers) : p_(p_internal), n_peers_(n_peers) {}

  // Exactly one random number per draw, so a stream's draws stay aligned across runs.
  Action draw(Rng& rng) const {
    const double u = rng.uniform();
    if (u < p_ || n_peers_ == 0) return {EventKind::internal, -1};
    const double v = (u - p_) / (1.0 - p_) * 3.0;  // uniform in [0, 3)
    if (v >= 2.0) return {EventKind::send_all, -1};
    auto index = static_cast<std::size_t>(v * 0.5 * static_cast<double>(n_peers_));
    if (index >= n_peers_) index = n_peers_ - 1;  // guards rounding at the top edge
    return {EventKind::send_one, static_cast<std::int32_t>(index)};
  }

 private:
  double p_;
  std::size_t n_peers_;
};

}  // namespace clockbench
