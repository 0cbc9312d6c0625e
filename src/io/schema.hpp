// The file contract, schema clockbench/1 (docs/schema.md). Every name written to the file, with
// its units and description, is defined once, in schema/clockbench-1.json; CMake generates the
// C++ names from it (cmake/schema_header.cmake): schema::machines::kRateHz, schema::attrs::kSeed, ...
#pragma once

#include "schema_table.hpp"

namespace clockbench::schema {

// The short names src/io/run_writer.cpp spells the columns by: references to the generated ones.
inline constexpr const Field& kRank = machines::kRank;
inline constexpr const Field& kHostname = machines::kHostname;
inline constexpr const Field& kPid = machines::kPid;
inline constexpr const Field& kRateHz = machines::kRateHz;
inline constexpr const Field& kAchievedHz = machines::kAchievedHz;
inline constexpr const Field& kTicks = machines::kTicks;
inline constexpr const Field& kSent = machines::kSent;
inline constexpr const Field& kReceived = machines::kReceived;
inline constexpr const Field& kLeftInQueue = machines::kLeftInQueue;
inline constexpr const Field& kClockOffset = machines::kClockOffsetS;
inline constexpr const Field& kClockOffsetUnc = machines::kClockOffsetUncertaintyS;
inline constexpr const Field& kClockOffsetEnd = machines::kClockOffsetEndS;
inline constexpr const Field& kClockOffsetEndUnc = machines::kClockOffsetEndUncertaintyS;
inline constexpr const Field& kClockRatePpm = machines::kClockRatePpm;
inline constexpr const Field& kClockInterval = machines::kClockOffsetIntervalS;
inline constexpr const Field& kClockStartT = machines::kClockOffsetStartTS;
inline constexpr const Field& kLateP50 = machines::kLatenessP50S;
inline constexpr const Field& kLateP99 = machines::kLatenessP99S;
inline constexpr const Field& kLateMax = machines::kLatenessMaxS;
inline constexpr const Field& kPhase = machines::kPhaseS;
inline constexpr const Field& kLateDeliveries = machines::kLateDeliveries;
inline constexpr const Field& kMissedTicks = machines::kMissedTicks;
inline constexpr const Field& kFirstDegraded = machines::kFirstDegradedS;
inline constexpr const Field& kEvRank = events::kRank;
inline constexpr const Field& kEvTick = events::kTick;
inline constexpr const Field& kEvT = events::kT;
inline constexpr const Field& kEvKind = events::kKind;
inline constexpr const Field& kEvLamport = events::kLamport;
inline constexpr const Field& kEvJump = events::kJump;
inline constexpr const Field& kEvQueue = events::kQueue;
inline constexpr const Field& kEvPeer = events::kPeer;
inline constexpr const Field& kEvMsgTick = events::kMsgTick;
inline constexpr const Field& kEvMsgClock = events::kMsgClock;
inline constexpr const Field& kEvMsgArrival = events::kMsgArrival;
inline constexpr const Field& kAdjacency = network::kAdjacency;
inline constexpr const Field& kNetSent = network::kSent;
inline constexpr const Field& kNetReceived = network::kReceived;
inline constexpr const Field& kNetLeft = network::kLeftInQueue;

}  // namespace clockbench::schema
