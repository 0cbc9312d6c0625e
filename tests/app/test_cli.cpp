// The command line: syntax errors from CLI11 and semantic ones from validation, each one line;
// and the /config text round trip through --config.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "core/config_text.hpp"
#include "core/schedule.hpp"

namespace clockbench {

namespace {

CliOutcome parse(std::vector<std::string> args, int n = 3) {
  args.insert(args.begin(), "clockbench");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_cli(static_cast<int>(argv.size()), argv.data(), n);
}

void expect_error(const std::vector<std::string>& args, const std::string& words, int n = 3) {
  const CliOutcome o = parse(args, n);
  EXPECT_EQ(o.status, CliStatus::error) << "accepted: " << ::testing::PrintToString(args);
  EXPECT_NE(o.message.find(words), std::string::npos) << "message: '" << o.message << "' lacks '" << words << "'";
  EXPECT_EQ(o.message.find('\n'), std::string::npos) << "one line: '" << o.message << "'";
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Cli, NoOptionsIsTheClassicExperiment) {
  const CliOutcome o = parse({});
  ASSERT_EQ(o.status, CliStatus::run) << o.message;
  EXPECT_EQ(o.config.duration_s, 60);
  EXPECT_TRUE(o.config.rates.empty());
  EXPECT_FALSE(o.config.seed.has_value());
}

TEST(Cli, HelpShowsEveryOptionWithItsDefault) {
  const CliOutcome o = parse({"--help"});
  ASSERT_EQ(o.status, CliStatus::exit_ok);
  for (const char* opt :
       {"--duration",      "--rates",     "--rate-min",       "--rate-max",      "--p-internal", "--seed",
        "--topology",      "--speedup",   "--output",         "--force",         "--config",     "--quiet",
        "--version",       "--max-ticks", "--no-output",      "--phase",         "--latency",    "--grace",
        "--strict-timing", "--hdf5-io",   "--flush-interval", "--clock-estimate"})
    EXPECT_NE(o.message.find(opt), std::string::npos) << opt;
  EXPECT_NE(o.message.find("0.7"), std::string::npos);
  EXPECT_NE(o.message.find("60"), std::string::npos);
}

TEST(Cli, VersionComesFromTheBuild) {
  const CliOutcome o = parse({"--version"});
  ASSERT_EQ(o.status, CliStatus::exit_ok);
  EXPECT_EQ(o.message.rfind("clockbench ", 0), 0u);
}

TEST(Cli, ParsesEveryOption) {
  const CliOutcome o = parse({"--duration", "20", "--rates", "1,2.5,6", "--p-internal", "0.4", "--seed", "9",
                              "--topology", "ring", "--speedup", "20", "-o", "x.h5", "--force", "--quiet"});
  ASSERT_EQ(o.status, CliStatus::run) << o.message;
  EXPECT_EQ(o.config.rates, (std::vector<double>{1, 2.5, 6}));
  EXPECT_EQ(o.config.p_internal, 0.4);
  EXPECT_EQ(o.config.seed, 9u);
  EXPECT_EQ(o.config.topology, Topology::ring());
  EXPECT_EQ(o.config.output, "x.h5");
  EXPECT_TRUE(o.config.force && o.config.quiet);
}

TEST(Cli, TimingOptionsAndTheirDefaults) {
  const CliOutcome d = parse({});
  EXPECT_EQ(d.config.phase, PhaseMode::random);
  EXPECT_EQ(d.config.latency.form, Latency::Form::constant);
  EXPECT_EQ(d.config.latency.a, 0.0);
  EXPECT_FALSE(d.config.strict_timing);
  EXPECT_FALSE(d.config.realtime);
  EXPECT_TRUE(parse({"--realtime"}).config.realtime);
  const CliOutcome o =
      parse({"--phase", "zero", "--latency", "uniform:0.01,0.25", "--grace", "0.005", "--strict-timing"});
  ASSERT_EQ(o.status, CliStatus::run) << o.message;
  EXPECT_EQ(o.config.phase, PhaseMode::zero);
  EXPECT_EQ(o.config.latency.form, Latency::Form::uniform);
  EXPECT_EQ(o.config.latency.a, 0.01);
  EXPECT_EQ(o.config.latency.b, 0.25);
  EXPECT_EQ(o.config.latency.least(), 0.01);
  EXPECT_EQ(o.config.grace_s, 0.005);
  EXPECT_TRUE(o.config.strict_timing);
  const Latency e = parse({"--latency", "exp:0.5"}).config.latency;
  EXPECT_EQ(e.form, Latency::Form::exponential);
  EXPECT_EQ(e.least(), 0.0);
  EXPECT_EQ(e.text(), "exp:0.5");
  EXPECT_EQ(parse({"--latency", "0.125"}).config.latency.text(), "0.125");
  EXPECT_EQ(parse({"--latency=-0"}).config.latency.text(), "0");
}

TEST(Cli, ChoicesAndTheSeedTakeTheirWordsAndDefaultToConfig) {
  const Config defaults;
  const CliOutcome d = parse({});
  ASSERT_EQ(d.status, CliStatus::run) << d.message;
  EXPECT_EQ(d.config.topology, defaults.topology);
  EXPECT_EQ(d.config.hdf5_io, defaults.hdf5_io);
  EXPECT_EQ(d.config.clock_estimate, defaults.clock_estimate);
  EXPECT_EQ(d.config.clock_estimate, ClockEstimate::automatic);
  const CliOutcome o = parse({"--topology", "ring", "--hdf5-io", "collective", "--clock-estimate", "force", "--phase",
                              "zero", "--seed", "010"});
  ASSERT_EQ(o.status, CliStatus::run) << o.message;
  EXPECT_EQ(o.config.topology, Topology::ring());
  EXPECT_EQ(o.config.hdf5_io, IoMode::collective);
  EXPECT_EQ(o.config.clock_estimate, ClockEstimate::force);
  EXPECT_EQ(o.config.phase, PhaseMode::zero);
  EXPECT_EQ(o.config.seed, 10u);  // decimal, not octal
  EXPECT_EQ(parse({"--clock-estimate", "off"}).config.clock_estimate, ClockEstimate::off);
  EXPECT_EQ(parse({"--clock-estimate", "auto"}).config.clock_estimate, ClockEstimate::automatic);
  EXPECT_EQ(parse({"--seed", "18446744073709551615"}).config.seed, 18446744073709551615ULL);
  // The help shows each choice's words and Config's default for it.
  const std::string help = parse({"--help"}).message;
  for (const char* shown : {"{full,ring,random:K}=full", "{independent,collective}=independent",
                            "{auto,force,off}=auto", "{random,zero}=random"})
    EXPECT_NE(help.find(shown), std::string::npos) << shown << " not in:\n" << help;
}

TEST(Cli, RatesMaxRunsEveryMachineFlatOut) {
  const CliOutcome o = parse({"--rates", "max", "--max-ticks", "1000", "--no-output"});
  ASSERT_EQ(o.status, CliStatus::run) << o.message;
  EXPECT_TRUE(o.config.flat_out);
  EXPECT_TRUE(o.config.rates.empty());
  EXPECT_EQ(o.config.max_ticks, 1000);
  EXPECT_TRUE(o.config.no_output);
  EXPECT_EQ(parse({"--rates", "max"}).config.max_ticks, Config{}.max_ticks);
  EXPECT_FALSE(parse({}).config.flat_out);
}

TEST(Cli, BadInputGetsOneLineNamingTheProblem) {
  expect_error({}, "at least 2 machines", 1);
  expect_error({"--rates", "1,2"}, "lists 2 rates but there are 3 machines");
  expect_error({"--rates", "1,0,2"}, "every rate must be a positive number");
  expect_error({"--rates", "1,-2,2"}, "every rate must be a positive number");
  expect_error({"--rates", "1,fast,2"}, "--rates");
  expect_error({"--rates", "1,fast,2"}, "'fast' is not a number");
  expect_error({"--rates", "max,2,3"}, "--rates max runs every machine flat out: give it alone");
  expect_error({"--rates", "max", "--max-ticks", "0"}, "--max-ticks must be a whole number of ticks");
  expect_error({"--rates", "max", "--max-ticks", "-3"}, "--max-ticks must be a whole number of ticks");
  expect_error({"--rates", "max", "--max-ticks", "many"}, "--max-ticks");
  expect_error({"--max-ticks", "1000"}, "--max-ticks applies only with --rates max");
  expect_error({"--rates", "max", "--realtime"}, "--realtime is for paced runs: flat out (--rates max) a rank never");
  expect_error({"--rates", "max", "--rate-max", "4"}, "--rates excludes --rate-max");
  expect_error({"--no-output", "-o", "x.h5"}, "--output excludes --no-output");
  expect_error({"--rate-min", "4", "--rate-max", "2"}, "greater than --rate-max");
  expect_error({"--p-internal", "1.5"}, "--p-internal must be a probability");
  expect_error({"--p-internal", "-0.1"}, "--p-internal must be a probability");
  expect_error({"--duration", "0"}, "--duration must be a positive");
  expect_error({"--duration", "-5"}, "--duration must be a positive");
  expect_error({"--duration", "long"}, "--duration");
  expect_error({"--speedup", "0"}, "--speedup must be a positive");
  expect_error({"--speedup", "x"}, "--speedup");
  expect_error({"--bogus"}, "--bogus");
  expect_error({"--config", "/nonexistent/clockbench.toml"}, "/nonexistent/clockbench.toml");
  expect_error({"--config", write_temp("bad_key.toml", "durashun=5\n")}, "durashun");
  expect_error({"--config", write_temp("bad_value.toml", "duration=soon\n")}, "duration");
  expect_error({"--latency=-1"}, "--latency: '-1' is not a latency");
  expect_error({"--latency", "nan"}, "--latency: 'nan' is not a latency");
  expect_error({"--latency", "inf"}, "is not a latency");
  expect_error({"--latency", "pareto:2"}, "is not a latency");
  expect_error({"--latency", "uniform:3,1"}, "LO greater than HI");
  expect_error({"--latency", "uniform:1"}, "needs two bounds");
  expect_error({"--latency", "exp:-2"}, "needs a mean that is a number >= 0");
  expect_error({"--phase", "random!"}, "--phase: random! not in {random,zero}");
  expect_error({"--grace=-0.5"}, "--grace must be a number of wall seconds from 0 to 10");
  expect_error({"--grace", "11"}, "--grace must be a number of wall seconds from 0 to 10");
}

// CLI11's validators: the option, the word given and what it may be.
TEST(Cli, ABadChoiceOrSeedNamesTheWordAndWhatItMayBe) {
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{"--topology", "star"}, "--topology: 'star' is not full, ring or random:K"},
      {{"--topology", "1"}, "--topology: '1' is not full, ring or random:K"},  // the word, not the enum's number
      {{"--hdf5-io", "async"}, "--hdf5-io: async not in {independent,collective}"},
      {{"--clock-estimate", "on"}, "--clock-estimate: on not in {auto,force,off}"},
      {{"--seed", "-5"}, "--seed: '-5' is not a whole number from 0 to 18446744073709551615"},
      {{"--seed", "18446744073709551616"}, "is not a whole number from 0 to 18446744073709551615"},
      {{"--seed", "0x10"}, "--seed: '0x10' is not a whole number"},
      {{"--seed", "lucky"}, "--seed: 'lucky' is not a whole number"},
  };
  for (const auto& [args, words] : cases) expect_error(args, words);
}

TEST(Cli, StoredConfigTextRerunsTheSameExperiment) {
  Config c;
  c.duration_s = 12.5;
  c.p_internal = 0.3;
  c.topology = Topology::ring();
  c.speedup = 20;
  c.phase = PhaseMode::zero;
  c.latency = Latency{Latency::Form::uniform, 0.125, 0.5};
  c.grace_s = 0.004;
  c.realtime = true;
  const std::vector<double> rates{1, 2.25, 6, 0.1};
  const std::string text = to_config_text(c, rates, 1234567890123ULL, "test");
  const CliOutcome o = parse({"--config", write_temp("roundtrip.toml", text)}, 4);
  ASSERT_EQ(o.status, CliStatus::run) << o.message;
  EXPECT_EQ(o.config.duration_s, 12.5);
  EXPECT_EQ(o.config.p_internal, 0.3);
  EXPECT_EQ(o.config.topology, Topology::ring());
  EXPECT_EQ(o.config.speedup, 20);
  EXPECT_EQ(o.config.rates, rates);
  EXPECT_EQ(o.config.seed, 1234567890123ULL);
  EXPECT_EQ(o.config.phase, PhaseMode::zero);
  EXPECT_EQ(o.config.latency.text(), "uniform:0.125,0.5");
  EXPECT_EQ(o.config.grace_s, 0.004);
  EXPECT_TRUE(o.config.realtime);
  // And the text of the parsed config is the text it came from.
  EXPECT_EQ(to_config_text(o.config, o.config.rates, *o.config.seed, "test"), text);
}

TEST(Cli, StoredConfigTextRerunsAFlatOutExperiment) {
  Config c;
  c.flat_out = true;
  c.max_ticks = 123456;
  c.duration_s = 2;
  const std::string text = to_config_text(c, {kFlatOutRate, kFlatOutRate, kFlatOutRate}, 7, "test");
  const CliOutcome o = parse({"--config", write_temp("flat.toml", text)});
  ASSERT_EQ(o.status, CliStatus::run) << o.message;
  EXPECT_TRUE(o.config.flat_out);
  EXPECT_EQ(o.config.max_ticks, 123456);
  EXPECT_EQ(o.config.duration_s, 2);
  EXPECT_EQ(to_config_text(o.config, {kFlatOutRate, kFlatOutRate, kFlatOutRate}, *o.config.seed, "test"), text);
}

}  // namespace clockbench
