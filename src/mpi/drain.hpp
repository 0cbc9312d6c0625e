// The end-of-run drain (docs/model.md, "End of the run"): once every rank has stopped ticking, each message still in
// flight is taken off the network and counted, so that nothing sent is ever lost.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/message.hpp"
#include "mpi/transport.hpp"

namespace clockbench {

// Collective, after the last tick. Completes this rank's sends, learns from every rank how many
// messages it sent here (`sent_to` is this rank's count per destination), and takes every one not
// yet taken: `arrived_from` (per source, what the tick loop already took) is brought up to those
// counts, each new message passed to `on_message`. Then cancels the receives left posted.
void drain_in_flight(Transport& transport, const std::vector<std::int64_t>& sent_to,
                     std::vector<std::int64_t>& arrived_from, MPI_Comm comm,
                     const std::function<void(const Message&)>& on_message);
// The same, where only `peers` (the same on both sides of each pair: every topology is symmetric)
// exchange messages: each tells only its peers its count, point to point, instead of every rank.
void drain_in_flight(Transport& transport, const std::vector<std::int32_t>& peers,
                     const std::vector<std::int64_t>& sent_to, std::vector<std::int64_t>& arrived_from, MPI_Comm comm,
                     const std::function<void(const Message&)>& on_message);

}  // namespace clockbench
