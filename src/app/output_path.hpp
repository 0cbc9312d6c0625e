// Where the output goes, checked before the run starts; written under a temporary name and moved
// into place only when complete, so a file under the final name is always a whole file.
#pragma once

#include <cstdint>
#include <string>

namespace clockbench {

struct OutputPlan {
  std::string final_path;
  std::string partial_path;  // <final>.<pid>.partial, in the same folder (so the move is a rename)
};

// Rank 0. Picks the name (default: clockbench-<UTC time>-s<seed>.h5) and checks that the folder
// exists and is writable and that the file does not exist (unless `force`). Returns an error line or "".
std::string plan_output(const std::string& requested, bool force, std::uint64_t seed, OutputPlan& plan);

// Rank 0. The --json file: the checks of plan_output (with --json in the messages), and not the
// output file `output` itself. Returns an error line or "".
std::string plan_json(const std::string& requested, bool force, const std::string& output, OutputPlan& plan);

// Rank 0. Writes `text` to plan.partial_path and moves it into place as publish_output does. Error line or "".
std::string write_file(const OutputPlan& plan, const std::string& text, bool force);

// Rank 0, after a failed write: why the folder of `final_path` cannot take the file, from what
// the system says now (gone, not a folder, read-only, full), or "" if nothing shows.
std::string diagnose_write_failure(const std::string& final_path);

// Rank 0. Moves the finished file into place; never replaces a file unless `force`. Error line or "".
std::string publish_output(const OutputPlan& plan, bool force);

}  // namespace clockbench
