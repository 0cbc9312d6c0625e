// The file contract, schema "clockbench/1" (docs/schema.md): every name written to the file is
// spelled here once, with its units and description.
#pragma once

namespace clockbench::schema {

inline constexpr const char* kSchema = "clockbench/1";

struct Field {
  const char* name;
  const char* units;
  const char* description;
};

// /machines columns
inline constexpr Field kRank{"rank", "1", "MPI rank = machine index"};
inline constexpr Field kHostname{"hostname", "text", "host the rank ran on"};
inline constexpr Field kPid{"pid", "1", "process id of the rank"};
inline constexpr Field kRateHz{"rate_hz", "Hz",
                               "nominal tick rate, ticks per model second; flat out, the achieved rate"};
inline constexpr Field kAchievedHz{
    "achieved_hz", "Hz", "(ticks - 1) / (t of last tick - t of first tick): the rate the ticks really ran at"};
inline constexpr Field kTicks{"ticks", "1", "events recorded, one per tick"};
inline constexpr Field kSent{"sent", "1", "messages sent (a send-all to k peers counts k)"};
inline constexpr Field kReceived{"received", "1", "messages taken off the queue by a receive tick"};
inline constexpr Field kLeftInQueue{"left_in_queue", "1", "messages delivered but never taken by a tick"};
inline constexpr Field kClockOffset{
    "clock_offset_s", "s",
    "this rank's monotonic clock minus rank 0's, estimated before the tick loop (0 on rank 0's host)"};
inline constexpr Field kClockOffsetUnc{
    "clock_offset_uncertainty_s", "s",
    "half the best ping-pong round trip of the offset estimate before the loop (0 on rank 0's host)"};
inline constexpr Field kClockOffsetEnd{"clock_offset_end_s", "s",
                                       "the offset estimated again after the tick loop; NaN if not made"};
inline constexpr Field kClockOffsetEndUnc{"clock_offset_end_uncertainty_s", "s",
                                          "half the best round trip of the end estimate; NaN if not made"};
inline constexpr Field kClockRatePpm{
    "clock_rate_ppm", "ppm",
    "this rank's clock rate minus rank 0's, parts per million: (end - start offset) / interval * 1e6; NaN if no end"};
inline constexpr Field kClockInterval{"clock_offset_interval_s", "s",
                                      "wall seconds on rank 0's clock from the start estimate to the end one; NaN "
                                      "if no end"};
inline constexpr Field kClockStartT{
    "clock_offset_start_t_s", "s",
    "god's-eye model time of the start estimate (before 0); t is placed on the offset's line from here"};
inline constexpr Field kLateP50{"lateness_p50_s", "s",
                                "median of tick start minus deadline, wall seconds; NaN flat out"};
inline constexpr Field kLateP99{"lateness_p99_s", "s",
                                "99th percentile of tick start minus deadline, wall seconds; NaN flat out"};
inline constexpr Field kLateMax{"lateness_max_s", "s", "largest tick start minus deadline, wall seconds; NaN flat out"};
inline constexpr Field kPhase{"phase_s", "s",
                              "model time of tick 0: tick k is due at phase_s + k / rate_hz; 0 flat out"};
inline constexpr Field kLateDeliveries{
    "late_deliveries", "1",
    "messages to this machine that arrived after a tick whose deadline was later than their arrival time had decided"};
inline constexpr Field kMissedTicks{"missed_ticks", "1",
                                    "ticks due before end_s that could not run by end_s + grace_s (wall)"};
inline constexpr Field kFirstDegraded{
    "first_degraded_s", "s",
    "model time of the first late delivery (its arrival time) or missed tick (its deadline); NaN if none"};

// /events columns
inline constexpr Field kEvRank{"rank", "1", "machine"};
inline constexpr Field kEvTick{"tick", "1", "tick index on that machine, 0, 1, 2, ..."};
inline constexpr Field kEvT{"t", "s",
                            "god's-eye model time the tick decided at, measured after the network was drained, "
                            "on rank 0's clock through the offset interpolated between its two estimates"};
inline constexpr Field kEvKind{"kind", "1", "0 internal, 1 send to one peer, 2 send to all peers, 3 receive"};
inline constexpr Field kEvLamport{"lamport", "1", "Lamport clock after the event"};
inline constexpr Field kEvJump{"jump", "1", "Lamport clock after minus before (1 except on receive)"};
inline constexpr Field kEvQueue{"queue", "1", "messages still waiting after the event"};
inline constexpr Field kEvPeer{"peer", "1", "destination of a send-one, source of a receive, -1 otherwise"};
inline constexpr Field kEvMsgTick{"msg_tick", "1", "receive: the sender's tick index; -1 otherwise"};
inline constexpr Field kEvMsgClock{"msg_clock", "1", "receive: the clock the message carried; -1 otherwise"};
inline constexpr Field kEvMsgArrival{
    "msg_arrival", "s", "receive: the message's model arrival time, send deadline + latency; NaN otherwise"};

// /network matrices, row = sender, column = receiver
inline constexpr Field kAdjacency{"adjacency", "1", "1 if the column machine is a peer of the row machine"};
inline constexpr Field kNetSent{"sent", "1", "messages the row machine sent to the column machine"};
inline constexpr Field kNetReceived{"received", "1",
                                    "messages from the row machine taken by a tick of the column machine"};
inline constexpr Field kNetLeft{"left_in_queue", "1",
                                "messages from the row machine still queued at the column machine at the end"};

inline constexpr Field kConfig{"config", "text", "resolved configuration; clockbench --config FILE reruns it"};

}  // namespace clockbench::schema
