// The run file's layout, written by every rank together. Parallel HDF5's collective rule: every rank
// creates every object with the same arguments (datasets, attributes, dimension scales), and takes
// part in every write, selecting none where it has nothing to write (how the blocks reach the file:
// io/file_access.hpp, parallel HDF5 or rank 0 alone in the SMPI build).
#include "io/run_writer.hpp"

#include <hdf5_hl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

#include "core/clock_line.hpp"
#include "io/file_access.hpp"
#include "io/h5_handles.hpp"
#include "io/schema.hpp"
#include "mpi/failure_vote.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/prefix_sum.hpp"

namespace clockbench {

namespace {

template <typename T>
struct H5Type;
template <>
struct H5Type<std::int32_t> {
  static hid_t mem() { return H5T_NATIVE_INT32; }
  static hid_t file() { return H5T_STD_I32LE; }
};
template <>
struct H5Type<std::int64_t> {
  static hid_t mem() { return H5T_NATIVE_INT64; }
  static hid_t file() { return H5T_STD_I64LE; }
};
template <>
struct H5Type<std::uint64_t> {
  static hid_t mem() { return H5T_NATIVE_UINT64; }
  static hid_t file() { return H5T_STD_U64LE; }
};
template <>
struct H5Type<std::uint8_t> {
  static hid_t mem() { return H5T_NATIVE_UINT8; }
  static hid_t file() { return H5T_STD_U8LE; }
};
template <>
struct H5Type<double> {
  static hid_t mem() { return H5T_NATIVE_DOUBLE; }
  static hid_t file() { return H5T_IEEE_F64LE; }
};

H5Id string_type(std::size_t length) {
  H5Id t = owned_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
  check_h5_status(H5Tset_size(t, std::max<std::size_t>(length, 1)), "H5Tset_size");
  check_h5_status(H5Tset_strpad(t, H5T_STR_NULLPAD), "H5Tset_strpad");
  return t;
}

// Attributes are variable-length UTF-8 strings, which h5py reads as str.
void set_text_attr(hid_t obj, const char* name, const std::string& value) {
  const H5Id type = owned_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
  check_h5_status(H5Tset_size(type, H5T_VARIABLE), "H5Tset_size");
  check_h5_status(H5Tset_cset(type, H5T_CSET_UTF8), "H5Tset_cset");
  const H5Id space = owned_space(H5Screate(H5S_SCALAR), "H5Screate");
  const H5Id attr = owned_attribute(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  const char* text = value.c_str();
  check_h5_status(H5Awrite(attr, type, &text), "H5Awrite");
}

template <typename T>
void set_number_attr(hid_t obj, const char* name, T value) {
  const H5Id space = owned_space(H5Screate(H5S_SCALAR), "H5Screate");
  const H5Id attr =
      owned_attribute(H5Acreate2(obj, name, H5Type<T>::file(), space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  check_h5_status(H5Awrite(attr, H5Type<T>::mem(), &value), "H5Awrite");
}

// A column's attributes: units and description, and its conventions from the table (docs/schema.md):
// `_FillValue` of the column's own type where a value means none, CF flags where values name things.
void describe(hid_t obj, const schema::Field& f, hid_t file_type) {
  set_text_attr(obj, "units", f.units);
  set_text_attr(obj, "description", f.description);
  const H5Id scalar = owned_space(H5Screate(H5S_SCALAR), "H5Screate");
  if (f.has_fill) {
    const H5Id attr =
        owned_attribute(H5Acreate2(obj, "_FillValue", file_type, scalar, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
    check_h5_status(H5Awrite(attr, H5T_NATIVE_LLONG, &f.fill), "H5Awrite");
  }
  if (*f.flag_meanings) {
    std::vector<long long> values(1);
    for (const char* c = f.flag_meanings; *c; ++c)
      if (*c == ' ') values.push_back(static_cast<long long>(values.size()));
    const auto n = static_cast<hsize_t>(values.size());
    const H5Id space = owned_space(H5Screate_simple(1, &n, nullptr), "H5Screate_simple");
    const H5Id attr =
        owned_attribute(H5Acreate2(obj, "flag_values", file_type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
    check_h5_status(H5Awrite(attr, H5T_NATIVE_LLONG, values.data()), "H5Awrite");
    set_text_attr(obj, "flag_meanings", f.flag_meanings);
  }
}

// How a dataset is created: its fill value where the table has one (also the HDF5 fill value, as
// netCDF has it); never filled, as every element is written (a fill pass would be a second
// collective write of the whole dataset).
H5Id creation_plist(const schema::Field* f) {
  H5Id dcpl = owned_plist(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  if (f && f->has_fill) check_h5_status(H5Pset_fill_value(dcpl, H5T_NATIVE_LLONG, &f->fill), "H5Pset_fill_value");
  check_h5_status(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  return dcpl;
}

// A dimension of a group, as netCDF-4 stores a dimension without a variable: a dimension scale
// dataset of the dimension's name and size whose NAME says so; its elements are never written.
H5Id dimension_scale(hid_t group, const char* name, hsize_t size) {
  const H5Id space = owned_space(H5Screate_simple(1, &size, nullptr), "H5Screate_simple");
  const H5Id dcpl = creation_plist(nullptr);
  H5Id scale =
      owned_dataset(H5Dcreate2(group, name, H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2");
  char text[128];
  std::snprintf(text, sizeof text, "%s%10llu", schema::kDimensionWithoutVariable,
                static_cast<unsigned long long>(size));
  check_h5_status(H5DSset_scale(scale, text), "H5DSset_scale");
  return scale;
}

// A group and its dimension scales, one per axis of its datasets.
struct Table {
  H5Id group;
  std::vector<H5Id> scales;
};

// One dataset: created collectively with shape `dims` (empty = scalar); this rank writes
// `data` into the block at `start` of size `count` (all-zero count = writes nothing).
struct Block {
  std::vector<hsize_t> start;
  std::vector<hsize_t> count;
  bool empty() const {
    return std::any_of(count.begin(), count.end(), [](hsize_t c) { return c == 0; });
  }
};

class Writer {
 public:
  Writer(const std::string& path, IoMode io, MPI_Comm comm) : access_(path, io, comm) {}

  hid_t file() const { return access_.file(); }

  // Every rank leaves a write having succeeded, or every rank throws the first failing rank's error.
  void write(hid_t dset, hid_t mem_type, hid_t mspace, hid_t fspace, const void* data) {
    access_.write(dset, mem_type, mspace, fspace, data);
  }

  // A group with its description and a dimension scale per axis: `names` from the table, `sizes` alike.
  template <std::size_t K>
  Table table(const char* name, const char* description, const char* const (&names)[K],
              const std::vector<hsize_t>& sizes) {
    Table t{owned_group(H5Gcreate2(file(), name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2"), {}};
    set_text_attr(t.group, "description", description);
    for (std::size_t axis = 0; axis < K; ++axis)
      t.scales.push_back(dimension_scale(t.group, names[axis], sizes.at(axis)));
    return t;
  }

  // `scales`: one per axis of `dims`, attached to the dataset (none for /config, a scalar).
  void dataset(hid_t loc, const schema::Field& f, hid_t file_type, hid_t mem_type, const std::vector<hsize_t>& dims,
               const Block& block, const void* data, const std::vector<H5Id>& scales = {}) {
    const H5Id fspace =
        dims.empty()
            ? owned_space(H5Screate(H5S_SCALAR), "H5Screate")
            : owned_space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple");
    const H5Id dcpl = creation_plist(&f);
    const H5Id dset =
        owned_dataset(H5Dcreate2(loc, f.name, file_type, fspace, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2");
    describe(dset, f, file_type);
    for (std::size_t axis = 0; axis < scales.size(); ++axis)
      check_h5_status(H5DSattach_scale(dset, scales[axis], static_cast<unsigned>(axis)), "H5DSattach_scale");
    const hsize_t one = 1;
    const H5Id mspace = owned_space(H5Screate_simple(1, &one, nullptr), "H5Screate_simple");
    if (block.empty()) {
      check_h5_status(H5Sselect_none(fspace), "H5Sselect_none");
      check_h5_status(H5Sselect_none(mspace), "H5Sselect_none");
      write(dset, mem_type, mspace, fspace, nullptr);
      return;
    }
    const hsize_t elems = std::accumulate(block.count.begin(), block.count.end(), hsize_t{1}, std::multiplies<>());
    const H5Id mem = owned_space(H5Screate_simple(1, &elems, nullptr), "H5Screate_simple");
    if (!dims.empty())
      check_h5_status(
          H5Sselect_hyperslab(fspace, H5S_SELECT_SET, block.start.data(), nullptr, block.count.data(), nullptr),
          "H5Sselect_hyperslab");
    write(dset, mem_type, dims.empty() ? H5S_ALL : mem.get(), dims.empty() ? H5S_ALL : fspace.get(), data);
  }

  template <typename T>
  void column(const Table& t, const schema::Field& f, hsize_t total, hsize_t offset, const std::vector<T>& rows) {
    dataset(t.group, f, H5Type<T>::file(), H5Type<T>::mem(), {total}, {{offset}, {rows.size()}}, rows.data(), t.scales);
  }

  // What the last write really did: HDF5 may quietly fall back to independent I/O.
  std::string actual_io_mode() const { return access_.io_mode(); }

  void close() { access_.close(); }

 private:
  FileAccess access_;
};

void write_root_attributes(hid_t file, const RunMetadata& m) {
  set_text_attr(file, "schema", schema::kSchema);
  set_text_attr(file, "clockbench_version", m.clockbench_version);
  set_text_attr(file, "git_sha", m.git_sha);
  set_text_attr(file, "created_utc", m.created_utc);
  set_text_attr(file, "command_line", m.command_line);
  set_text_attr(file, "mpi_library_version", m.mpi_library_version);
  set_text_attr(file, "hdf5_version", m.hdf5_version);
  set_text_attr(file, "compiler_id", m.build.compiler_id);
  set_text_attr(file, "compiler_version", m.build.compiler_version);
  set_text_attr(file, "build_type", m.build.build_type);
  set_text_attr(file, "build_flags", m.build.build_flags);
  set_text_attr(file, "cpu_model", m.build.cpu_model);
  set_number_attr<std::int32_t>(file, "n_machines", m.n_machines);
  set_number_attr<double>(file, "duration_s", m.duration_s);
  set_number_attr<double>(file, "speedup", m.speedup);
  set_number_attr<std::uint64_t>(file, "seed", m.seed);
  set_number_attr<double>(file, "p_internal", m.p_internal);
  set_text_attr(file, "topology", m.topology);
  set_number_attr<std::int32_t>(file, "completed", m.completed);
  set_text_attr(file, "stop_reason", m.stop_reason);
  set_text_attr(file, "slurm_job_id", m.slurm_job_id);
  set_text_attr(file, "slurm_array_task_id", m.slurm_array_task_id);
  set_text_attr(file, "slurm_job_name", m.slurm_job_name);
  set_number_attr<double>(file, "end_s", m.end_s);
  set_number_attr<std::int32_t>(file, "flat_out", m.flat_out);
  set_number_attr<std::int64_t>(file, "max_ticks", m.max_ticks);
  set_text_attr(file, "phase_mode", m.phase_mode);
  set_text_attr(file, "latency", m.latency);
  set_number_attr<double>(file, "grace_s", m.grace_s);
  set_text_attr(file, "timing", m.timing);
  set_number_attr<std::int64_t>(file, "late_deliveries", m.late_deliveries);
  set_number_attr<std::int64_t>(file, "missed_ticks", m.missed_ticks);
  set_number_attr<std::int32_t>(file, "realtime", m.realtime);
  // A simulated run says so, and on what (docs/simulation.md); a real run's are 0 and "".
  set_number_attr<std::int32_t>(file, "simulated", m.simulation.platform.empty() ? 0 : 1);
  set_text_attr(file, "platform", m.simulation.platform);
  set_text_attr(file, "platform_parameters", m.simulation.parameters);
  set_text_attr(file, "simgrid_version", m.simulation.simgrid_version);
}

}  // namespace

void write_run_file(const std::string& path, const RunMetadata& meta, const std::string& config_text,
                    const MachineResult& local, const std::string& hostname, IoMode io, MPI_Comm comm) {
  int rank = 0, n = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  const auto un = static_cast<hsize_t>(n);
  const auto me = static_cast<hsize_t>(rank);
  const MachineSummary& s = local.summary;

  // Where this rank's events go: after the events of every lower rank.
  auto count = static_cast<std::int64_t>(local.events.size());
  std::int64_t total = 0;
  const std::int64_t offset = sum_below(count, comm);
  check_mpi(MPI_Allreduce(&count, &total, 1, MPI_INT64_T, MPI_SUM, comm), "MPI_Allreduce");
  std::uint64_t host_len = hostname.size(), max_host_len = 0;
  check_mpi(MPI_Allreduce(&host_len, &max_host_len, 1, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce");

  Writer w(path, io, comm);
  write_root_attributes(w.file(), meta);

  {
    const H5Id type = string_type(config_text.size());
    const Block block = rank == 0 ? Block{{}, {1}} : Block{{}, {0}};
    w.dataset(w.file(), schema::kConfig, type, type, {}, block, config_text.data());
  }

  {
    namespace m = schema::machines;
    const Table g = w.table(m::kGroup, m::kGroupDescription, m::kDimensions, {un});
    auto row = [&](const schema::Field& f, auto value) { w.column(g, f, un, me, std::vector<decltype(value)>{value}); };
    row(schema::kRank, s.rank);
    {
      const H5Id type = string_type(max_host_len);
      std::vector<char> buf(std::max<std::uint64_t>(max_host_len, 1), '\0');
      std::memcpy(buf.data(), hostname.data(), hostname.size());
      w.dataset(g.group, schema::kHostname, type, type, {un}, {{me}, {1}}, buf.data(), g.scales);
    }
    row(schema::kPid, s.pid);
    row(schema::kRateHz, s.rate_hz);
    row(schema::kAchievedHz, s.achieved_hz);
    row(schema::kTicks, s.ticks);
    row(schema::kSent, s.sent);
    row(schema::kReceived, s.received);
    row(schema::kLeftInQueue, s.left_in_queue);
    row(schema::kClockOffset, s.clock_offset_s);
    row(schema::kClockOffsetUnc, s.clock_offset_uncertainty_s);
    row(schema::kClockOffsetEnd, s.clock_offset_end_s);
    row(schema::kClockOffsetEndUnc, s.clock_offset_end_uncertainty_s);
    row(schema::kClockRatePpm, s.clock_rate_ppm);
    row(schema::kClockInterval, s.clock_offset_interval_s);
    row(schema::kClockStartT, s.clock_offset_start_t_s);
    row(schema::kLateP50, s.lateness_p50_s);
    row(schema::kLateP99, s.lateness_p99_s);
    row(schema::kLateMax, s.lateness_max_s);
    row(schema::kPhase, s.phase_s);
    row(schema::kLateDeliveries, s.late_deliveries);
    row(schema::kMissedTicks, s.missed_ticks);
    row(schema::kFirstDegraded, s.first_degraded_s);
  }

  {
    const auto tot = static_cast<hsize_t>(total);
    namespace ev = schema::events;
    const Table g = w.table(ev::kGroup, ev::kGroupDescription, ev::kDimensions, {tot});
    const auto off = static_cast<hsize_t>(offset);
    const EventLog& e = local.events;
    w.column(g, schema::kEvRank, tot, off, std::vector<std::int32_t>(e.size(), rank));
    w.column(g, schema::kEvTick, tot, off, e.tick);
    // The loop stamped t on the start offset (and the journal keeps that); the file places it on
    // the line between the two offset estimates (core/clock_line.hpp).
    const TimePlacement place =
        time_placement(s.clock_offset_start_t_s, s.clock_offset_s, s.clock_offset_end_s, s.clock_offset_interval_s);
    if (place.moves()) {
      std::vector<double> placed(e.t.size());
      std::transform(e.t.begin(), e.t.end(), placed.begin(), place);
      w.column(g, schema::kEvT, tot, off, placed);
    } else {
      w.column(g, schema::kEvT, tot, off, e.t);
    }
    w.column(g, schema::kEvKind, tot, off, e.kind);
    w.column(g, schema::kEvLamport, tot, off, e.lamport);
    w.column(g, schema::kEvJump, tot, off, e.jump);
    w.column(g, schema::kEvQueue, tot, off, e.queue);
    w.column(g, schema::kEvPeer, tot, off, e.peer);
    w.column(g, schema::kEvMsgTick, tot, off, e.msg_tick);
    w.column(g, schema::kEvMsgClock, tot, off, e.msg_clock);
    w.column(g, schema::kEvMsgArrival, tot, off, e.msg_arrival);
    // Recorded so that a slow write can be told from a silently independent one.
    set_text_attr(w.file(), "events_io_mode", bcast_string(w.actual_io_mode(), 0, comm));
  }

  {
    namespace net = schema::network;
    const Table g = w.table(net::kGroup, net::kGroupDescription, net::kDimensions, {un, un});
    std::vector<std::uint8_t> adjacency(static_cast<std::size_t>(n), 0);
    for (const int p : local.peers) adjacency[static_cast<std::size_t>(p)] = 1;
    const Block my_row{{me, 0}, {1, un}};
    const Block my_column{{0, me}, {un, 1}};
    w.dataset(g.group, schema::kAdjacency, H5T_STD_U8LE, H5T_NATIVE_UINT8, {un, un}, my_row, adjacency.data(),
              g.scales);
    w.dataset(g.group, schema::kNetSent, H5T_STD_I64LE, H5T_NATIVE_INT64, {un, un}, my_row, local.sent_to.data(),
              g.scales);
    w.dataset(g.group, schema::kNetReceived, H5T_STD_I64LE, H5T_NATIVE_INT64, {un, un}, my_column,
              local.received_from.data(), g.scales);
    w.dataset(g.group, schema::kNetLeft, H5T_STD_I64LE, H5T_NATIVE_INT64, {un, un}, my_column, local.left_from.data(),
              g.scales);
  }

  w.close();
}

}  // namespace clockbench
