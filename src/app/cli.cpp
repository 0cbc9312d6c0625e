// Options, their help, and their defaults (taken from Config, the one place defaults live).
#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "git_sha.hpp"
#include "version.hpp"

namespace clockbench {

namespace {

const char* kBanner =
    "clockbench: logical clocks on machines of different speeds. Each MPI rank is one machine\n"
    "with its own tick rate, Lamport clock and network queue; every event goes into one HDF5 file.\n"
    "Run with: mpirun -np N clockbench [options]   (N >= 2; N = 3 is the classic experiment)\n";

// CLI11 messages can span lines; the user gets one.
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// An option taking one word of `choices`, stored as the value it names: CLI11's IsMember refuses
// any other word ("--phase: late not in {random,zero}"), its Transformer maps the word to the value.
// (CheckedTransformer alone would also take the value's number: 1 for ring.) The default shown is
// the word of `value` as it stands (Config's default).
template <class E, std::size_t N>
CLI::Option* add_choice(CLI::App& app, const std::string& name, E& value, const Choice<E> (&choices)[N],
                        const std::string& help) {
  std::vector<std::string> words;
  std::vector<std::pair<std::string, E>> values;
  for (const Choice<E>& c : choices) {
    words.emplace_back(c.name);
    values.emplace_back(c.name, c.value);
  }
  const CLI::IsMember member(words);
  CLI::Validator word = member & CLI::Transformer(values);
  word.description(member.get_description());
  return app.add_option(name, value, help)
      ->transform(word)
      ->type_name("WORD")
      ->default_str(choice_name(choices, value));
}

// --seed: 0 .. 2^64-1 in decimal. (CLI11's own conversion would take -5 as 2^64-5, 010 as octal 8,
// and a number past 2^64-1 as 2^64-1.)
CLI::Validator seed_number() {
  return CLI::Validator(
      [](std::string& text) {
        std::uint64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size())
          return "'" + text + "' is not a whole number from 0 to 18446744073709551615";
        text = std::to_string(value);  // what CLI11 then reads as the same number
        return std::string();
      },
      "0 to 2^64-1");
}

// --rates: numbers, one per rank, or the single word max (flat out). Empty: the rates are drawn.
std::string parse_rates(const std::vector<std::string>& words, Config& c) {
  if (words.size() == 1 && words[0] == "max") {
    c.flat_out = true;
    return {};
  }
  for (const std::string& w : words) {
    if (w == "max") return "--rates max runs every machine flat out: give it alone, not in a list of rates";
    double rate = 0.0;
    const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), rate);
    if (w.empty() || ec != std::errc() || end != w.data() + w.size())
      return "--rates: '" + w + "' is not a number (give rates in Hz, e.g. 1,2,6, or max)";
    c.rates.push_back(rate);
  }
  return {};
}

}  // namespace

CliOutcome parse_cli(int argc, char** argv, int n_machines) {
  CliOutcome out;
  Config& c = out.config;
  CLI::App app{kBanner, "clockbench"};
  app.set_version_flag("--version", std::string("clockbench ") + kVersion + " (git " + kGitSha + ")",
                       "print the version and the git commit it was built from, and exit");
  app.set_config("--config", "",
                 "read options from a CLI11 config file (key=value lines); the /config text "
                 "stored in every output file reruns that experiment");
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.get_formatter()->column_width(34);

  std::vector<std::string> rates;
  app.add_option("--duration", c.duration_s, "experiment length, model seconds")->capture_default_str();
  auto* rates_opt = app.add_option("--rates", rates,
                                   "tick rates, ticks per model second, one per rank (e.g. 1,2,6), or max: "
                                   "every rank ticks back to back (flat out); "
                                   "default: drawn from --rate-min..--rate-max")
                        ->delimiter(',');
  auto* max_ticks_opt =
      app.add_option("--max-ticks", c.max_ticks,
                     "with --rates max: ticks per machine reserved ahead; a machine nearing it stops the run early")
          ->capture_default_str();
  app.add_option("--rate-min", c.rate_min, "lowest rate to draw")->capture_default_str()->excludes(rates_opt);
  app.add_option("--rate-max", c.rate_max, "highest rate to draw")->capture_default_str()->excludes(rates_opt);
  app.add_flag("--fractional-rates", c.fractional_rates,
               "draw real rates uniformly in [rate-min, rate-max] (default: integers, as the exercise)");
  app.add_option("--p-internal", c.p_internal, "probability that a free tick is an internal event")
      ->capture_default_str();
  app.add_option_function<std::uint64_t>(
         "--seed", [&c](std::uint64_t seed) { c.seed = seed; }, "run seed (default: random, printed and recorded)")
      ->transform(seed_number());
  app.add_option_function<std::string>(
         "--topology",
         [&c](const std::string& text) {
           std::string error;
           c.topology = *parse_topology(text, error);  // the check below has accepted it
         },
         "who may send to whom: full (everyone), ring (the two neighbours) or random:K (K random peers each, K "
         "even, 2 <= K <= N/2; the graph is drawn from the seed)")
      ->check(CLI::Validator(
          [](std::string& text) {
            std::string error;
            return parse_topology(text, error) ? std::string() : error;
          },
          "{full,ring,random:K}"))
      ->type_name("WORD")
      ->default_str(c.topology.text());
  app.add_option("--speedup", c.speedup, "run S times faster than model time (rates x S, duration / S)")
      ->capture_default_str();
  auto* output_opt =
      app.add_option("-o,--output", c.output, "output HDF5 file (default: clockbench-<time>-<seed>.h5 here)");
  app.add_flag("--force", c.force, "overwrite the output file (and the --json file) if it exists");
  app.add_flag("--no-output", c.no_output, "write no file (to measure what recording costs)")->excludes(output_opt);
  app.add_option("--json", out.json,
                 "also write the result line's and the per-machine table's figures to FILE as JSON "
                 "(never overwritten without --force)")
      ->type_name("FILE");
  app.add_option("--flush-interval", c.flush_interval_s,
                 "wall seconds between background flushes of the events to <output>.<pid>.journal/, "
                 "which `clockbench-analyze recover` turns into a file after a crash; 0: off")
      ->capture_default_str();
  add_choice(app, "--hdf5-io", c.hdf5_io, kIoModes,
             "how the ranks write their rows: independent (each its own, straight to the file) or collective "
             "(MPI-IO aggregation, for parallel file systems)");
  add_choice(app, "--phase", c.phase, kPhaseModes,
             "where each machine's ticks start: random (its own phase in [0, 1/rate), from its stream) or "
             "zero (all at model time 0, the exercise's aligned start)");
  app.add_option_function<std::string>(
         "--latency",
         [&c](const std::string& text) {
           std::string error;
           c.latency = *parse_latency(text, error);  // the check below has accepted it
         },
         "message latency, model seconds: a constant D, uniform:LO,HI or exp:MEAN (drawn per message "
         "from the sender's stream); a message sent at deadline T arrives at T + latency")
      ->check(CLI::Validator(
          [](std::string& text) {
            std::string error;
            return parse_latency(text, error) ? std::string() : error;
          },
          "LATENCY"))
      ->default_str(c.latency.text());
  app.add_option("--grace", c.grace_s,
                 "wall seconds a tick may wait after its deadline for the machines that send to it (on its host) "
                 "to catch up; also how late after the end a last tick may still run")
      ->capture_default_str();
  app.add_flag("--strict-timing", c.strict_timing,
               "exit 1 if the loop did not keep up with the model (late deliveries or missed ticks); the file is "
               "still written");
  app.add_flag("--realtime", c.realtime,
               "paced runs: tick at real-time priority (SCHED_FIFO 1, the ticking only), so that other processes' "
               "bursts cannot hold a rank past its deadline; needs root with CAP_SYS_NICE or ulimit -r 1 (see "
               "docs/measurements.md, \"Lateness and the other processes\")");
  add_choice(app, "--clock-estimate", c.clock_estimate, kClockEstimates,
             "which ranks estimate their clock's offset to rank 0's before and after the loop: auto (one rank "
             "per host other than rank 0's), force (every rank but 0, as if each had a host of its own), "
             "off (none: every offset taken as 0)");
  app.add_flag("-q,--quiet", c.quiet, "print only errors, warnings and the CLOCKBENCH_RESULT line");
  app.add_flag("--timings", c.timings,
               "after the run, print a CLOCKBENCH_TIMINGS line: wall seconds of each phase of start-up, ticking "
               "and tear-down, the slowest rank's (see docs/measurements.md, \"Phases of a run\")");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.status = CliStatus::exit_ok;
    out.message = app.help();
    return out;
  } catch (const CLI::CallForAllHelp&) {
    out.status = CliStatus::exit_ok;
    out.message = app.help("", CLI::AppFormatMode::All);
    return out;
  } catch (const CLI::CallForVersion& e) {
    out.status = CliStatus::exit_ok;
    out.message = std::string(e.what()) + "\n";
    return out;
  } catch (const CLI::ParseError& e) {
    out.status = CliStatus::error;
    out.message = one_line(e.what()) + " (see clockbench --help)";
    return out;
  }
  // The rules that span options (Config's validation): the first one broken is the error.
  std::string error = parse_rates(rates, c);
  if (error.empty() && c.no_output && c.force && out.json.empty())
    error = "--force excludes --no-output (no file to overwrite; with --json it applies to the --json file)";
  if (error.empty() && *max_ticks_opt && !c.flat_out)
    error = "--max-ticks applies only with --rates max (a paced machine's ticks are bounded by rate x duration)";
  if (error.empty()) error = validate(c, n_machines);
  if (!error.empty()) {
    out.status = CliStatus::error;
    out.message = error;
  }
  return out;
}

}  // namespace clockbench
